from django.contrib import admin

from .models import Account, User

admin.site.register(Account)
admin.site.register(User)
