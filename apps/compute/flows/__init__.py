from .vm_create import CREATE_VM
from .vm_lifecycle import (DESTROY_AND_EXPUNGE_VM, DESTROY_VM, EXPUNGE_VM, PAUSE_VM, POWER_OFF_VM, REBOOT_VM,
                           RESUME_VM, START_VM, STOP_VM)

__all__ = ["CREATE_VM", "DESTROY_AND_EXPUNGE_VM", "DESTROY_VM", "EXPUNGE_VM", "PAUSE_VM", "POWER_OFF_VM",
           "REBOOT_VM", "RESUME_VM", "START_VM", "STOP_VM"]
from .vm_clone import CLONE_VM  # noqa: E402,F401  (clone)
from .vm_reinit import REINIT_ROOT_VOLUME  # noqa: E402,F401  (reinit a root volume to its image)
from .vm_migrate import COLD_MIGRATE_VM, LIVE_MIGRATE_VM  # noqa: E402,F401  (registered for the workers)
from .volume_attach import ATTACH_DATA_VOLUME, DELETE_ATTACHED_DATA_VOLUME, DETACH_DATA_VOLUME  # noqa: E402
from .volume_resize import RESIZE_VOLUME  # noqa: E402

__all__ += ["ATTACH_DATA_VOLUME", "DELETE_ATTACHED_DATA_VOLUME", "DETACH_DATA_VOLUME", "RESIZE_VOLUME"]
