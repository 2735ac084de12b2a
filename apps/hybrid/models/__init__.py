from .access_key import AlibabaAccessKey
from .data_center import AlibabaDataCenter, AlibabaIdentityZone
from .ecs import ECS_STATE_MACHINE, EcsInstance, EcsState
from .oneview import EcsImageMapping, EcsNetworkMapping, EcsOfferingMapping

__all__ = ["AlibabaAccessKey", "AlibabaDataCenter", "AlibabaIdentityZone", "ECS_STATE_MACHINE", "EcsInstance",
           "EcsState"]
__all__ += ["EcsImageMapping", "EcsNetworkMapping", "EcsOfferingMapping"]
