from django.contrib import admin

from .models import BackupStorage, Image, PrimaryStorage, Volume

for model in (BackupStorage, Image, PrimaryStorage, Volume):
    admin.site.register(model)
