from .access_key import AlibabaAccessKey
from .data_center import AlibabaDataCenter, AlibabaIdentityZone
from .ecs import ECS_STATE_MACHINE, EcsInstance, EcsState
from .express_connect import RouterInterface, VirtualBorderRouter
from .network import (AlibabaEip, AlibabaRouteEntry, AlibabaSecurityGroup, AlibabaVpc, AlibabaVRouter, AlibabaVSwitch,
                      NetworkState)
from .oneview import EcsImageMapping, EcsNetworkMapping, EcsOfferingMapping
from .storage import (BUCKET_STATE_MACHINE, DISK_STATE_MACHINE, IMAGE_STATE_MACHINE, BucketState, DiskState, EcsDisk,
                      EcsImage, ImageOwner, ImageState, OssBucket)
from .vpn import CustomerGateway, VpnConnection, VpnGateway, VpnState

__all__ = [
    # keys, data centres, ECS (H1-H3)
    "AlibabaAccessKey", "AlibabaDataCenter", "AlibabaIdentityZone", "ECS_STATE_MACHINE", "EcsInstance", "EcsState",
    # images, disks, OSS (H5, H6, H10)
    "BUCKET_STATE_MACHINE", "DISK_STATE_MACHINE", "IMAGE_STATE_MACHINE", "BucketState", "DiskState", "EcsDisk",
    "EcsImage", "ImageOwner", "ImageState", "OssBucket",
    # security groups, EIPs, VPC (H4, H7)
    "AlibabaEip", "AlibabaRouteEntry", "AlibabaSecurityGroup", "AlibabaVpc", "AlibabaVRouter", "AlibabaVSwitch",
    "NetworkState",
    # Express Connect and VPN (H8, H9)
    "CustomerGateway", "RouterInterface", "VirtualBorderRouter", "VpnConnection", "VpnGateway", "VpnState",
    # local VMs' images, offerings and networks mapped to the cloud's (H12)
    "EcsImageMapping", "EcsNetworkMapping", "EcsOfferingMapping",
]
