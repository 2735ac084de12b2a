from django.contrib import admin

from .login_pages import AdminLoginForm
from .models import Account, User

admin.site.register(Account)
admin.site.register(User)

# the admin site's login page says when failed logins are throttled (apps.accounts.backends)
admin.site.login_form = AdminLoginForm
