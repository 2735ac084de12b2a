from django.contrib import admin

from .models import AlibabaDataCenter, AlibabaIdentityZone, EcsInstance

# AccessKeys are not listed: Django's admin would show the secret's field
for model in (AlibabaDataCenter, AlibabaIdentityZone, EcsInstance):
    admin.site.register(model)

from .models import CustomerGateway, RouterInterface, VirtualBorderRouter, VpnConnection, VpnGateway  # noqa: E402

for model in (VirtualBorderRouter, RouterInterface, VpnGateway, CustomerGateway, VpnConnection):
    admin.site.register(model)
