class AgentFailure(Exception):
    """An error answered to the caller as ``{"code", "message", "details"}`` with ``status``."""

    def __init__(self, status, code, message, details=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}

    def payload(self):
        return {"code": self.code, "message": self.message, "details": self.details}


def vm_not_found(vm_uuid):
    return AgentFailure(404, "VM_NOT_FOUND", f"no VM {vm_uuid} on this host", {"vm_uuid": vm_uuid})


def invalid_state(vm_uuid, state, op):
    return AgentFailure(409, "INVALID_STATE", f"cannot {op} VM {vm_uuid}: it is {state}",
                        {"vm_uuid": vm_uuid, "state": state})


def invalid_request(message, **details):
    return AgentFailure(400, "INVALID_REQUEST", message, details)
