"""Every module that declares ECS or VPC actions; importing this module registers them all.
A new module of actions is added here."""
from . import (  # noqa: F401
    ecs_account,
    ecs_instance_create,
    ecs_instance_delete,
    ecs_instance_describe,
    ecs_instance_modify,
    ecs_instance_power,
    ecs_instance_types,
    ecs_regions,
)
from . import vpc_vpcs, vpc_vswitches, vpc_route_tables  # noqa: F401  (emu-net: VPC, vSwitches, routes)
from . import vpc_eips  # noqa: F401  (emu-net: elastic IP addresses)
from . import ecs_security_groups, ecs_security_group_rules  # noqa: F401  (emu-net)
from . import (  # noqa: F401  (Express Connect and VPN)
    express_connect_links,
    express_connect_router_interfaces,
    express_connect_vbrs,
    vpn_connections,
    vpn_customer_gateways,
    vpn_gateways,
)
