"""What deleting a host or an account does to its VMs."""
from apps.accounts.models import Account
from apps.core.cascade import cascade
from apps.infra.models import Host

from .models import VmInstance

# a host that still carries VMs is not deleted: stop and delete (or later migrate) them first;
# destroyed VMs in the recycle bin no longer hold a host (only last_host, set to NULL)
cascade(Host).refuses(VmInstance, via="host")
# an account that owns VMs (destroyed ones in the recycle bin too) is not deleted: its VMs are
# deleted and expunged first, through their own flows (docs/api.md)
cascade(Account).refuses(VmInstance, via="account")
