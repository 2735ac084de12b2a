"""What deleting a key, a data centre or an account does to what the hybrid cloud mirrors. Nothing
here deletes anything in the cloud: a data centre deleted here is a region the portal stops
showing; its instances keep running there."""
from apps.accounts.models import Account
from apps.core.cascade import cascade

from .models import AlibabaAccessKey, AlibabaDataCenter, AlibabaIdentityZone, EcsInstance
from .models import EcsDisk, EcsImage, OssBucket

cascade(AlibabaDataCenter).deletes(EcsInstance, via="data_center")
cascade(AlibabaDataCenter).deletes(AlibabaIdentityZone, via="data_center")
# a key that data centres still use is not deleted: delete them first (or add another key to them)
cascade(AlibabaAccessKey).refuses(AlibabaDataCenter, via="access_key")
# an account with data centres is not deleted: they stand for instances running (and billed) in the
# cloud, which the portal would stop showing; deleting them first is the account owner's choice.
# Without them it has no zones or instances here, and its keys go with it.
cascade(Account).refuses(AlibabaDataCenter, via="account")
cascade(Account).deletes(AlibabaIdentityZone, via="account")
cascade(Account).deletes(EcsInstance, via="account")
cascade(Account).deletes(AlibabaAccessKey, via="account")
# storage (H5, H6, H10): mirrored rows like the instances, nothing deleted in the cloud; images
# before buckets (an uploaded image names the bucket it came through)
for _model in (EcsImage, EcsDisk, OssBucket):
    cascade(AlibabaDataCenter).deletes(_model, via="data_center")
    cascade(Account).deletes(_model, via="account")

# Express Connect and VPN (H8, H9): mirrored rows, deleted here with their data centre or account
from .models import CustomerGateway, RouterInterface, VirtualBorderRouter, VpnConnection, VpnGateway  # noqa: E402

for _mirrored in (RouterInterface, VirtualBorderRouter, VpnConnection, VpnGateway, CustomerGateway):
    cascade(AlibabaDataCenter).deletes(_mirrored, via="data_center")
    cascade(Account).deletes(_mirrored, via="account")

# the mirrored network (H4, H7): deleted here with its data centre or account, nothing in the cloud
from .models import (AlibabaEip, AlibabaRouteEntry, AlibabaSecurityGroup, AlibabaVpc, AlibabaVRouter,  # noqa: E402
                     AlibabaVSwitch)

for _network_model in (AlibabaEip, AlibabaRouteEntry, AlibabaSecurityGroup, AlibabaVSwitch, AlibabaVRouter, AlibabaVpc):
    cascade(AlibabaDataCenter).deletes(_network_model, via="data_center")
    cascade(Account).deletes(_network_model, via="account")
# (a VPC forgotten here leaves its vSwitches, VRouter and groups here, no longer linked to it: the
# next sync brings it back and links them again)

# what a VM create placed in a zone is mapped to (models/oneview.py) goes with its data centre or
# zone, and with its account
from .models import EcsImageMapping, EcsNetworkMapping, EcsOfferingMapping  # noqa: E402

cascade(AlibabaDataCenter).deletes(EcsImageMapping, via="data_center")
cascade(AlibabaDataCenter).deletes(EcsOfferingMapping, via="data_center")
cascade(AlibabaIdentityZone).deletes(EcsNetworkMapping, via="identity_zone")
for _mapping in (EcsImageMapping, EcsOfferingMapping, EcsNetworkMapping):
    cascade(Account).deletes(_mapping, via="account")
