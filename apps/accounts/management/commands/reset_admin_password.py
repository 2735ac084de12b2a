import os

from django.core.management.base import BaseCommand, CommandError

from apps.accounts.admin_account import reset_admin_password


class Command(BaseCommand):
    help = ("Reset the password of the 'admin' user (creating it if missing) and revoke its API tokens. "
            "Uses --password, else CLOUDPORTAL_ADMIN_PASSWORD, else generates one and prints it.")

    def add_arguments(self, parser):
        parser.add_argument("--password", help="the new password (at least 8 characters)")

    def handle(self, *args, **options):
        given = options.get("password") or os.environ.get("CLOUDPORTAL_ADMIN_PASSWORD") or None
        if given is not None and len(given) < 8:
            raise CommandError("the password must have at least 8 characters")
        password = reset_admin_password(given)
        if given:
            self.stdout.write("admin password reset")
        else:
            self.stdout.write(f"admin password reset; new password: {password}")
