from .ecs_create import CREATE_ECS_INSTANCE, CREATE_ECS_INSTANCE_WITH_EIP
from .ecs_lifecycle import FLOWS as ECS_ACTION_FLOWS
from .ecs_lifecycle import plan_action
from .sync import SYNC_DATA_CENTER

__all__ = ["CREATE_ECS_INSTANCE", "CREATE_ECS_INSTANCE_WITH_EIP", "ECS_ACTION_FLOWS", "SYNC_DATA_CENTER", "plan_action"]
from .storage_buckets import CREATE_OSS_BUCKET, DELETE_OSS_BUCKET  # noqa: E402
from .storage_disks import CREATE_ECS_DISK, DISK_FLOWS  # noqa: E402
from .storage_images import DELETE_ECS_IMAGE, UPLOAD_ECS_IMAGE  # noqa: E402

__all__ += ["CREATE_ECS_DISK", "CREATE_OSS_BUCKET", "DELETE_ECS_IMAGE", "DELETE_OSS_BUCKET", "DISK_FLOWS",
            "UPLOAD_ECS_IMAGE"]

from . import links_express, links_vpn  # noqa: E402,F401  (Express Connect and VPN flows, H8 H9: registered by name)

from . import network_eips, network_security_groups, network_vpcs  # noqa: E402,F401  (H4, H7: registers their flows)
