from collections import defaultdict

from django.db.models import Q

from ..models import Tag


def tags_for(uuids, user):
    """``{resource_uuid: [tag, ...]}`` of the tags ``user`` may see, in one query."""
    if not uuids:
        return {}
    rows = Tag.objects.filter(resource_uuid__in=list(uuids))
    if user is not None and not getattr(user, "is_admin", False):
        rows = rows.filter(Q(account_id=getattr(user, "account_id", None)) | Q(type="system"))
    result = defaultdict(list)
    for resource_uuid, tag in rows.order_by("id").values_list("resource_uuid", "tag"):
        result[resource_uuid].append(tag)
    return result
