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
