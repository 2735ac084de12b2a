"""Every module that declares ECS or VPC actions; importing this module registers them all.
A new module of actions is added here."""
from . import ecs_regions  # noqa: F401
from . import vpc_vpcs, vpc_vswitches, vpc_route_tables  # noqa: F401  (emu-net: VPC, vSwitches, routes)
from . import vpc_eips  # noqa: F401  (emu-net: elastic IP addresses)
from . import ecs_security_groups, ecs_security_group_rules  # noqa: F401  (emu-net)
from . import ecs_images  # noqa: F401  (emu-net: system and custom images)
from . import ecs_disks  # noqa: F401  (emu-net: cloud disks)
