"""Alibaba Cloud errors as the real service answers them: an HTTP status, a Code a program switches
on, a Message; the server adds RequestId. The SDK turns 4xx into ClientException and 5xx into
ServerException with that Code."""


class ApiError(Exception):
    def __init__(self, http_status, code, message, retry_after=None):
        super().__init__(message)
        self.http_status = http_status
        self.code = code
        self.message = message
        # seconds; answered as x-acs-retry-after (ms), which the SDK raises as ThrottlingException
        self.retry_after = retry_after

    def body(self, request_id, host_id="ecs.aliyuncs.com"):
        return {"RequestId": request_id, "HostId": host_id, "Code": self.code,
                "Message": self.message, "Recommend": f"https://api.aliyun.com/troubleshoot?q={self.code}"}


def missing_parameter(name):
    return ApiError(400, "MissingParameter",
                    f"The input parameter \"{name}\" that is mandatory for processing this request is not supplied.")


def invalid_parameter(name, value=None, code=None):
    shown = "" if value is None else f" (\"{value}\")"
    return ApiError(400, code or "InvalidParameter", f"The specified parameter \"{name}\"{shown} is not valid.")


def not_found(code, what, identifier):
    return ApiError(404, code, f"The specified {what} \"{identifier}\" does not exist.")


def incorrect_status(what, identifier, status, code="IncorrectInstanceStatus"):
    return ApiError(403, code, f"The current status of the {what} \"{identifier}\" ({status}) does not support this operation.")


def throttled(retry_after):
    return ApiError(400, "Throttling.User", "Request was denied due to user flow control.", retry_after=retry_after)


def unknown_access_key():
    return ApiError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")


def signature_mismatch(string_to_sign):
    return ApiError(400, "SignatureDoesNotMatch",
                    f"Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}")


def quota_exceeded(code, message):
    return ApiError(403, code, message)
