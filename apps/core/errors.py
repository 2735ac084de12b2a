"""Errors with a code a program can switch on and a message a person can act on.

Every error the API returns has the shape ``{"code", "message", "details"}``
(ARCHITECTURE §4). Raise one of these anywhere (a view, a flow step, a model
method); the API exception handler and the job engine both understand them.
"""


class CloudPortalError(Exception):
    status = 400
    code = "BAD_REQUEST"

    def __init__(self, message, *, code=None, details=None, status=None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.details = details or {}

    def as_dict(self):
        return {"code": self.code, "message": self.message, "details": self.details}


class InvalidArgument(CloudPortalError):
    status = 400
    code = "INVALID_ARGUMENT"


class NotFound(CloudPortalError):
    status = 404
    code = "NOT_FOUND"


class PermissionDenied(CloudPortalError):
    status = 403
    code = "PERMISSION_DENIED"


class Conflict(CloudPortalError):
    status = 409
    code = "CONFLICT"


class InvalidState(Conflict):
    code = "INVALID_STATE"


class ResourceBusy(Conflict):
    code = "RESOURCE_BUSY"


class Unplaceable(CloudPortalError):
    """Valid request that cannot be placed: no capacity, quota exceeded."""

    status = 422
    code = "NO_CAPACITY"


class JobCancelled(CloudPortalError):
    status = 409
    code = "JOB_CANCELLED"
