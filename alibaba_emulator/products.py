"""Every module that declares ECS or VPC actions; importing this module registers them all.
A new module of actions is added here."""
from . import ecs_regions  # noqa: F401
from . import express_connect_vbrs  # noqa: F401
from . import express_connect_router_interfaces  # noqa: F401
from . import express_connect_links  # noqa: F401
from . import vpn_gateways  # noqa: F401
from . import vpn_customer_gateways  # noqa: F401
from . import vpn_connections  # noqa: F401
