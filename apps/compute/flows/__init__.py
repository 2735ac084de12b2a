from .vm_create import CREATE_VM
from .vm_lifecycle import (DESTROY_AND_EXPUNGE_VM, DESTROY_VM, EXPUNGE_VM, PAUSE_VM, POWER_OFF_VM, REBOOT_VM,
                           RESUME_VM, START_VM, STOP_VM)

__all__ = ["CREATE_VM", "DESTROY_AND_EXPUNGE_VM", "DESTROY_VM", "EXPUNGE_VM", "PAUSE_VM", "POWER_OFF_VM",
           "REBOOT_VM", "RESUME_VM", "START_VM", "STOP_VM"]
from .vm_migrate import COLD_MIGRATE_VM, LIVE_MIGRATE_VM  # noqa: E402,F401  (registered for the workers)
