"""Tags on every resource's page: the object's tags as the API's ``/tags/`` lists them, a tag added
(``POST /tags/``) or removed (``DELETE /tags/<uuid>/``) in place. Who may tag what, a blank or
duplicate tag, a system tag's pattern: the API's rules and messages, none of the page's own."""
from django.contrib import messages
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from .apicall import call, detail_path, list_path, permitted
from .base import PageView, is_htmx
from .edit import go

MAX_TAGS = 100


def object_tags(request, uuid, shown=(), error=""):
    """The tags of the resource ``uuid``: those the API's ``/tags/`` lists for this user (each
    removable by its uuid), then those its own answer shows beside them (``shown``: a normal
    account sees system tags there but cannot remove them)."""
    answer = call(request, "GET", list_path("tags"), {"q": f"resource_uuid={uuid}", "limit": MAX_TAGS})
    rows = answer.data.get("results", []) if answer.ok else []
    listed = {row["tag"] for row in rows}
    tags = [{"tag": row["tag"], "type": row["type"], "uuid": row["uuid"]} for row in rows]
    tags += [{"tag": tag, "type": "", "uuid": ""} for tag in shown if tag not in listed]
    return {"uuid": str(uuid), "rows": tags, "error": error or ("" if answer.ok else answer.message),
            "can_add": _may_tag(request)}


def _may_tag(request):
    from .pages import site

    tags = site.get("tags")
    return tags is not None and permitted(request, tags.viewset, "create", "POST")


class TagsOnView(PageView):
    """``tags/on/<uuid>/``: GET the resource's tags; POST ``resource_uuid``, ``tag`` (and ``type``)
    adds one; ``tags/on/<uuid>/remove/<tag uuid>/`` removes one. Done: back to the page it was
    asked from (``next``); refused: the API's message beside the tags (htmx) or above the page."""

    def dispatch(self, request, *args, **kwargs):
        return super().dispatch(request, "tags", *args, **kwargs)

    def get(self, request, uuid):
        return self.tags(uuid)

    def post(self, request, uuid, tag_uuid=None):
        if tag_uuid is None:
            answer = call(request, "POST", list_path("tags"))   # the form's resource_uuid, tag, type
            done = _("Tag added.")
        else:
            answer = call(request, "DELETE", detail_path("tags", tag_uuid))
            done = _("Tag removed.")
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
            back = reverse("ui:list", kwargs={"basename": "tags"}) + f"?q=resource_uuid={uuid}"
        if answer.ok:
            messages.success(request, done)
            return go(request, back)
        error = (answer.field_errors.get("tag") or [answer.message])[0]
        if is_htmx(request):
            return self.tags(uuid, error)
        messages.error(request, error)
        return go(request, back)

    def tags(self, uuid, error=""):
        return self.page("ui/_tags.html", {"tags": object_tags(self.request, uuid, error=error),
                                           "next": self.request.POST.get("next") or self.request.GET.get("next", "")})
