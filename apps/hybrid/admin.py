from django.contrib import admin

from .models import (AlibabaDataCenter, AlibabaIdentityZone, CustomerGateway, EcsDisk, EcsImage, EcsInstance,
                     OssBucket, RouterInterface, VirtualBorderRouter, VpnConnection, VpnGateway)

# AccessKeys are not listed: Django's admin would show the secret's field
for model in (AlibabaDataCenter, AlibabaIdentityZone, EcsInstance, OssBucket, EcsImage, EcsDisk,
              VirtualBorderRouter, RouterInterface, VpnGateway, CustomerGateway, VpnConnection):
    admin.site.register(model)
