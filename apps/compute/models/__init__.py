from .nic import VmNic
from .offering import AllocatorStrategy, InstanceOffering
from .vm import VM_STATE_MACHINE, VmInstance, VmState

__all__ = ["AllocatorStrategy", "InstanceOffering", "VM_STATE_MACHINE", "VmInstance", "VmNic", "VmState"]
from .ha import HaLevel, HaRestart, HaRestartState  # noqa: E402  (HA, apps/compute/ha.py)

__all__ += ["HaLevel", "HaRestart", "HaRestartState"]
