from .access_key import AlibabaAccessKey
from .data_center import AlibabaDataCenter, AlibabaIdentityZone
from .ecs import ECS_STATE_MACHINE, EcsInstance, EcsState

__all__ = ["AlibabaAccessKey", "AlibabaDataCenter", "AlibabaIdentityZone", "ECS_STATE_MACHINE", "EcsInstance",
           "EcsState"]
from .network import (AlibabaEip, AlibabaRouteEntry, AlibabaSecurityGroup, AlibabaVpc, AlibabaVRouter,  # noqa: E402
                      AlibabaVSwitch, NetworkState)

__all__ += ["AlibabaEip", "AlibabaRouteEntry", "AlibabaSecurityGroup", "AlibabaVpc", "AlibabaVRouter", "AlibabaVSwitch",
            "NetworkState"]
