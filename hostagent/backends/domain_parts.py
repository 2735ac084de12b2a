"""Optional parts of a domain definition, each owned by the feature module that needs it.

``/v1/vm/define`` validates the base fields (size, NICs, VNC, boot) in ``base.validate_define``;
every registered part then validates its own fields of the body into the spec and adds its XML, so a
feature (data disks, CD-ROMs, video, guest agent, QoS...) is one module, not edits across the backend.

A part is an object with any of:
  ``validate(body, spec)``  add its keys to ``spec`` (raise ``errors.invalid_request`` on bad input)
  ``devices(spec)``         XML strings to put inside ``<devices>``
  ``top(spec)``             XML strings to put at the domain's top level (``<cputune>``, ``<blkiotune>``)
``devices`` and ``top`` read the spec with ``.get`` and defaults: tests build specs by hand.
The sim backend keeps the whole spec of each VM, so the same fields are checked there.
"""
PARTS = []


def register(part):
    """Add ``part`` (a class, instantiated here, or an object) to every define."""
    PARTS.append(part() if isinstance(part, type) else part)
    return part


def validate(body, spec):
    for part in PARTS:
        if hasattr(part, "validate"):
            part.validate(body, spec)


def devices(spec):
    return [xml for part in PARTS if hasattr(part, "devices") for xml in part.devices(spec)]


def top(spec):
    return [xml for part in PARTS if hasattr(part, "top") for xml in part.top(spec)]


# the parts, one module each (imported last: they import ``register`` from here)
from . import disks  # noqa: E402,F401
from . import guest_parts  # noqa: E402,F401
