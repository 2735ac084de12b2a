"""Hooks between products: a module subscribes to what another does without importing it, e.g.
disks and EIPs follow an instance's deletion. Subscribers run in the same call, before the save."""
_SUBSCRIBERS = {}

# events published so far:
#   "instance_created" (call, instance record): RunInstances/CreateInstance added it (its system and
#       data disks are already in the disks table)
#   "instance_deleted" (call, instance record): an ECS instance left the instances table (its disks
#       are already deleted or detached)
EVENTS = ("instance_created", "instance_deleted")


def subscribe(event, handler):
    if event not in EVENTS:
        raise ValueError(f"unknown event {event}")
    _SUBSCRIBERS.setdefault(event, []).append(handler)
    return handler


def publish(event, call, *args):
    for handler in _SUBSCRIBERS.get(event, ()):
        handler(call, *args)
