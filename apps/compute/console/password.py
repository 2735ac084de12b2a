"""Per-VM VNC passwords: generated once, kept encrypted in ``VmInstance.console_password``,
given to the host agent when the domain is defined (``/v1/vm/define`` ``vnc_password``)."""
import secrets
import string

# VNC authentication (RFB security type 2) uses at most 8 characters.
PASSWORD_LENGTH = 8
_ALPHABET = string.ascii_letters + string.digits


def generate_password():
    return "".join(secrets.choice(_ALPHABET) for _ in range(PASSWORD_LENGTH))


def ensure_password(vm):
    """The VM's console password, generated and stored first if it has none (one
    conditional UPDATE, so two concurrent callers end up with the same password)."""
    if vm.console_password:
        return vm.console_password
    type(vm).objects.filter(pk=vm.pk, console_password="").update(console_password=generate_password())
    vm.console_password = type(vm).objects.values_list("console_password", flat=True).get(pk=vm.pk)
    return vm.console_password


def vnc_define_fields(vm):
    """What a define request for ``vm`` carries for its console (merge into the define body)."""
    return {"vnc": True, "vnc_password": ensure_password(vm)}
