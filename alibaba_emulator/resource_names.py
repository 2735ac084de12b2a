"""Names and descriptions of resources, checked as the consoles and APIs of Alibaba Cloud do:
a name is 1 (2 for ECS) to 128 characters and starts with a letter or a Chinese character; neither
a name nor a description may start with http:// or https://."""
from .errors import ApiError


def name(value, parameter, code, minimum=1):
    if value is None:
        return None
    if not (minimum <= len(value) <= 128) or not (value[0].isalpha()) or value.startswith(("http://", "https://")):
        raise ApiError(400, code, f"The specified {parameter} \"{value}\" is not valid: {minimum} to 128 characters, "
                                  "starting with a letter and not with http:// or https://.")
    return value


def description(value, code, minimum=1):
    if value is None:
        return None
    if not (minimum <= len(value) <= 256) or value.startswith(("http://", "https://")):
        raise ApiError(400, code, f"The specified Description is not valid: {minimum} to 256 characters, "
                                  "not starting with http:// or https://.")
    return value


def dry_run(call):
    """After a call's checks passed: a DryRun call stops here with the answer the service gives."""
    if call.params.bool("DryRun"):
        raise ApiError(400, "DryRunOperation", "Request validation has been passed with DryRun flag set.")
