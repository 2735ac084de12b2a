from .ecs_create import CREATE_ECS_INSTANCE
from .ecs_lifecycle import FLOWS as ECS_ACTION_FLOWS
from .ecs_lifecycle import plan_action
from .sync import SYNC_DATA_CENTER

__all__ = ["CREATE_ECS_INSTANCE", "ECS_ACTION_FLOWS", "SYNC_DATA_CENTER", "plan_action"]
from . import network_eips, network_security_groups, network_vpcs  # noqa: E402,F401  (H4, H7: registers their flows)
