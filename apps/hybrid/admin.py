from django.contrib import admin

from .models import AlibabaDataCenter, AlibabaIdentityZone, EcsInstance

# AccessKeys are not listed: Django's admin would show the secret's field
for model in (AlibabaDataCenter, AlibabaIdentityZone, EcsInstance):
    admin.site.register(model)

from .models import (AlibabaEip, AlibabaRouteEntry, AlibabaSecurityGroup, AlibabaVpc, AlibabaVRouter,  # noqa: E402
                     AlibabaVSwitch)

for model in (AlibabaVpc, AlibabaVSwitch, AlibabaVRouter, AlibabaRouteEntry, AlibabaSecurityGroup, AlibabaEip):
    admin.site.register(model)
