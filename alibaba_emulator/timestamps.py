"""Times as the API writes them: UTC ISO 8601 with a Z (VPC and most ECS fields to the second,
ECS instance and disk fields to the minute)."""
import time


def iso_seconds(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def iso_minutes(seconds):
    return time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(seconds))


def creation_order(records, id_key):
    """Records in the order they were made (the emulator's `_created` clock, then the id): the stable
    order Describe* pages through."""
    return sorted(records, key=lambda r: (r.get("_created", 0), r[id_key]))
