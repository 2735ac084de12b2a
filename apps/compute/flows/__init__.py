from .deploy import ADD_KVM_HOST, DELETE_KVM_HOST
from .hosts import ADD_HOST
from .reconnect import RECONNECT_HOST
from .vm_create import CREATE_VM
from .vm_lifecycle import (DESTROY_AND_EXPUNGE_VM, DESTROY_VM, EXPUNGE_VM, PAUSE_VM, POWER_OFF_VM, REBOOT_VM,
                           RESUME_VM, START_VM, STOP_VM)

__all__ = ["ADD_HOST", "ADD_KVM_HOST", "CREATE_VM", "DELETE_KVM_HOST", "DESTROY_AND_EXPUNGE_VM", "DESTROY_VM",
           "EXPUNGE_VM", "PAUSE_VM", "POWER_OFF_VM", "REBOOT_VM", "RECONNECT_HOST", "RESUME_VM", "START_VM",
           "STOP_VM"]
