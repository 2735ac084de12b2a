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
from . import (  # noqa: F401  (emu-net: security groups, images, disks, VPC, EIPs)
    ecs_disks,
    ecs_images,
    ecs_security_group_rules,
    ecs_security_groups,
    vpc_eips,
    vpc_route_tables,
    vpc_vpcs,
    vpc_vswitches,
)
from . import (  # noqa: F401  (emu-vpn: Express Connect and VPN)
    express_connect_links,
    express_connect_router_interfaces,
    express_connect_vbrs,
    vpn_connections,
    vpn_customer_gateways,
    vpn_gateways,
)
