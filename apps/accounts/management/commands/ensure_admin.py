import os

from django.core.management.base import BaseCommand

from apps.accounts.admin_account import ensure_admin


class Command(BaseCommand):
    help = ("Create the admin account and user 'admin' if they do not exist. The password is "
            "CLOUDPORTAL_ADMIN_PASSWORD when set, else generated and printed once.")

    def handle(self, *args, **options):
        given = os.environ.get("CLOUDPORTAL_ADMIN_PASSWORD") or None
        password = ensure_admin(given)
        if password is None:
            self.stdout.write("admin user exists (reset its password with: manage.py reset_admin_password)")
        elif given:
            self.stdout.write("admin user created with the password from CLOUDPORTAL_ADMIN_PASSWORD")
        else:
            self.stdout.write(self.style.WARNING(
                f"admin user created.\n  user name: admin\n  password:  {password}\n"
                "  (shown once; reset it with: manage.py reset_admin_password)"))
