from .nic import VmNic
from .offering import AllocatorStrategy, InstanceOffering
from .vm import VM_STATE_MACHINE, VmInstance, VmState

__all__ = ["AllocatorStrategy", "InstanceOffering", "VM_STATE_MACHINE", "VmInstance", "VmNic", "VmState"]
