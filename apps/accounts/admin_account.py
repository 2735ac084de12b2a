"""The built-in admin account and its ``admin`` user (A4)."""
import secrets

from django.db import transaction

from .models import Account, AccountType, User

ADMIN = "admin"


def ensure_admin(password=None):
    """Create the admin account and user if missing. Returns the password when one
    was set now (given or generated), else None (the admin already existed)."""
    with transaction.atomic():
        account, _ = Account.objects.get_or_create(
            name=ADMIN, defaults={"type": AccountType.SYSTEM_ADMIN, "description": "the built-in admin account"}
        )
        if User.objects.filter(username=ADMIN).exists():
            return None
        password = password or secrets.token_urlsafe(12)
        user = User(username=ADMIN, account=account, is_staff=True, is_superuser=True)
        user.set_password(password)
        user.save()
        return password


def reset_admin_password(password=None):
    password = password or secrets.token_urlsafe(12)
    with transaction.atomic():
        user = User.objects.filter(username=ADMIN).first()
        if user is None:
            ensure_admin(password)
            return password
        user.set_password(password)
        user.is_active = True
        user.save()
        from .models import ApiToken

        ApiToken.objects.filter(user=user).delete()  # old sessions end with the old password
    return password
