from .access_key import AlibabaAccessKey
from .data_center import AlibabaDataCenter, AlibabaIdentityZone
from .ecs import ECS_STATE_MACHINE, EcsInstance, EcsState
from .oneview import EcsImageMapping, EcsNetworkMapping, EcsOfferingMapping

__all__ = ["AlibabaAccessKey", "AlibabaDataCenter", "AlibabaIdentityZone", "ECS_STATE_MACHINE", "EcsInstance",
           "EcsState"]
from .storage import (BUCKET_STATE_MACHINE, DISK_STATE_MACHINE, IMAGE_STATE_MACHINE, BucketState, DiskState,  # noqa: E402
                      EcsDisk, EcsImage, ImageOwner, ImageState, OssBucket)

__all__ += ["BUCKET_STATE_MACHINE", "DISK_STATE_MACHINE", "IMAGE_STATE_MACHINE", "BucketState", "DiskState", "EcsDisk",
            "EcsImage", "ImageOwner", "ImageState", "OssBucket"]

from .express_connect import RouterInterface, VirtualBorderRouter  # noqa: E402  (Express Connect, H8)
from .vpn import CustomerGateway, VpnConnection, VpnGateway, VpnState  # noqa: E402  (VPN, H9)

__all__ += ["CustomerGateway", "RouterInterface", "VirtualBorderRouter", "VpnConnection", "VpnGateway", "VpnState"]

__all__ += ["EcsImageMapping", "EcsNetworkMapping", "EcsOfferingMapping"]
