from django.contrib import admin

from .models import AlibabaDataCenter, AlibabaIdentityZone, EcsInstance

# AccessKeys are not listed: Django's admin would show the secret's field
for model in (AlibabaDataCenter, AlibabaIdentityZone, EcsInstance):
    admin.site.register(model)

from .models import EcsDisk, EcsImage, OssBucket  # noqa: E402

for model in (OssBucket, EcsImage, EcsDisk):
    admin.site.register(model)
