from django.contrib import admin

from .models import (AlibabaDataCenter, AlibabaEip, AlibabaIdentityZone, AlibabaRouteEntry, AlibabaSecurityGroup,
                     AlibabaVpc, AlibabaVRouter, AlibabaVSwitch, CustomerGateway, EcsDisk, EcsImage, EcsInstance,
                     OssBucket, RouterInterface, VirtualBorderRouter, VpnConnection, VpnGateway)

# AccessKeys are not listed: Django's admin would show the secret's field
for model in (AlibabaDataCenter, AlibabaIdentityZone, EcsInstance, OssBucket, EcsImage, EcsDisk,
              AlibabaVpc, AlibabaVSwitch, AlibabaVRouter, AlibabaRouteEntry, AlibabaSecurityGroup, AlibabaEip,
              VirtualBorderRouter, RouterInterface, VpnGateway, CustomerGateway, VpnConnection):
    admin.site.register(model)
