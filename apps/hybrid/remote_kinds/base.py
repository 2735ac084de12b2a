"""What every kind of the sync shares: the declaration (``RemoteKind``), the tag a flow sets on
what it makes, and the readings of the cloud's answers (times, lists, tags)."""
from datetime import datetime, timezone


PORTAL_TAG = "cloudportal:uuid"   # set on what a flow creates: the portal row's uuid


class RemoteKind:
    model = None
    remote_key = ""        # the item's id field ("InstanceId")
    local_key = ""         # the column holding it ("instance_id")
    fields = {}            # column (attname) -> the item's field name, or a function(item, sync) -> value
    import_only = ()       # columns of ``fields`` read from the cloud on import only: the portal's after
    deleted_state = "Deleted"   # the state a row takes when its item is gone

    def list_remote(self, cloud, data_center):
        """The cloud's items (dicts with the cloud's names) below ``data_center``."""
        raise NotImplementedError

    def prepare(self, sync):
        """Read what the field functions look up (``sync.lookups``), once per sync."""

    def name(self):
        return self.model.__name__

    def values(self, item, sync):
        """The columns of a row mirroring ``item``."""
        found = {}
        for column, source in self.fields.items():
            if callable(source):
                found[column] = source(item, sync)
            else:
                value = item.get(source)
                found[column] = "" if value is None else value
        return found

    def created_by(self, item):
        """The uuid of the portal row a flow created ``item`` for (its ``cloudportal:uuid`` tag), else None."""
        for tag in (item.get("Tags") or {}).get("Tag") or []:
            if tag.get("TagKey") == PORTAL_TAG or tag.get("Key") == PORTAL_TAG:
                return tag.get("TagValue") or tag.get("Value")
        return None


def cloud_time(text):
    """The cloud's time (``2026-12-07T08:00Z``, seconds optional) as an aware datetime; None for none."""
    if not text:
        return None
    for pattern in ("%Y-%m-%dT%H:%MZ", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    return None


def list_at(path):
    """A function reading the list at ``path`` ("PublicIpAddress.IpAddress") of an item."""
    def read(item, sync):
        value = item
        for step in path.split("."):
            value = value.get(step) if isinstance(value, dict) else None
        return list(value or [])
    return read




def items_at(body, path):
    """The list at ``path`` ("VpnGateways.VpnGateway") of an answer or an item ([] when absent)."""
    return list_at(path)(body, None)


def tagged_by_portal(item, *paths):
    """The ``cloudportal:uuid`` tag's value in an item of the VPC product, whose listings nest their
    tags differently (``Tags.Tags``, ``Tags.Tag``, ``Tag.Tag``), else None."""
    for path in paths:
        for tag in items_at(item, path):
            if isinstance(tag, dict) and (tag.get("Key") or tag.get("TagKey")) == PORTAL_TAG:
                return tag.get("Value") or tag.get("TagValue")
    return None


def epoch_ms(value):
    """The VPN listings' times (milliseconds since the epoch) as an aware datetime; None for none."""
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc) if value else None
    except (TypeError, ValueError):
        return None
