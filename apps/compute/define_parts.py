"""What a VM's domain definition carries beyond size, root disk, NICs and VNC.

``define_body`` (flows/vm_common.py) builds the agent's ``/v1/vm/define`` request each time a VM
is defined (create, start, migrate...); each function here adds one feature's fields to it
(``part(vm, body)``, changing ``body`` in place): data volumes and CD-ROMs to ``body["disks"]``,
video, guest agent, QoS... The agent side of each is a part in hostagent/backends/domain_parts.py.
A part must not call a host: it reads rows only.
"""

DEFINE_PARTS = []


def define_part(fn):
    DEFINE_PARTS.append(fn)
    return fn


def apply_parts(vm, body):
    for part in DEFINE_PARTS:
        part(vm, body)
    return body


# the parts, one module each (imported last: they import ``define_part`` from here)
from .volume_define import data_volumes  # noqa: E402  (its module does not import this one: no cycle)
define_part(data_volumes)
from .guest_define import guest_settings  # noqa: E402

define_part(guest_settings)
