"""The generic list and detail pages: what the API's list and retrieve answer, as tables."""
import uuid as uuid_lib
from urllib.parse import urlencode

from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from ..api.serializers import admin_only_fields, readable_fields
from ..query import query_meta
from .apicall import call, list_path
from .base import PageView, is_htmx, is_live, split_conditions, with_query
from .cells import Formatter, ListRow
from .labels import field_label
from .pages import site
from .panels import detail_panels
from .tagging import object_tags


def shown_columns(pages, admin, names=None):
    hidden = set() if admin else admin_only_fields(pages.viewset.serializer_class)
    return [name for name in (names or pages.columns) if name not in hidden]


def row_fields(pages, columns):
    """What the cells of ``columns`` read of a row besides their own field."""
    return [*pages.row_fields, *(["resource_type"] if "resource_uuid" in columns else [])]


def list_rows(request, pages, rows, columns, select):
    """A list page's rows (``ListRow``: each its ``<tr>``), ``select``: with a check box each."""
    live_kind = pages.live_kind() or ""
    rows_url = reverse("ui:rows", kwargs={"basename": pages.api_basename()}) if live_kind else ""
    return [ListRow(row, cells, select, live_kind, rows_url) for row, cells in table(request, pages, rows, columns)]


def table(request, pages, rows, columns):
    """``[(row, [cell, ...]), ...]`` for API rows of ``pages``."""
    formatter = Formatter(pages, rows, request.user, site, columns)
    result = []
    for row in rows:
        cells = [formatter.cell(name, row.get(name), row) for name in columns]
        for name, cell in zip(columns, cells):
            cell.column = name
        if cells and not cells[0].href and row.get("uuid") and not cells[0].items:   # the row opens its page
            cells[0].href = formatter.detail_url(pages.api_basename(), row["uuid"])
        result.append((row, cells))
    return result


class ListView(PageView):
    """Sortable columns, paging, the ``q=`` search box (the API's error shown), CSV export (the
    API's own), bulk actions on the selected rows. htmx asks for the results alone."""

    def get(self, request):
        pages = self.pages
        error, conditions = "", []
        try:
            conditions = split_conditions(request.GET.get("q", ""), pages.search_field)
        except ValueError as exc:   # shlex: an unclosed quote
            error = _("The search could not be read: %(reason)s") % {"reason": exc}
        ordering = request.GET.get("ordering", pages.default_ordering)
        columns = shown_columns(pages, self.admin)
        query = {"q": conditions, "ordering": ordering, "offset": request.GET.get("offset", "0"),
                 "limit": request.GET.get("limit", str(pages.list_limit)),
                 # the API computes only what the table shows (and the row's uuid and name)
                 "fields": ",".join(name for name in dict.fromkeys(["uuid", "name", *columns,
                                                                    *row_fields(pages, columns)])
                                    if name in readable_fields(pages.viewset.serializer_class))}
        rows, count, offset, limit = [], 0, 0, pages.list_limit
        if not error:
            answer = call(request, "GET", self.list_path(), query)
            if answer.ok:
                rows, count = answer.data["results"], answer.data["count"]
                offset, limit = int(query["offset"] or 0), int(query["limit"] or pages.list_limit)
            else:
                error = answer.message
        sortable = set(getattr(query_meta(pages.model()), "fields", []))
        bulk_actions = self.visible_actions(bulk=True)
        context = {
            "title": pages.title(),
            "q": request.GET.get("q", ""),
            "error": error,
            "headers": [self.header(name, ordering, name in sortable) for name in columns],
            "rows": list_rows(request, pages, rows, columns, bool(bulk_actions)),
            "count": count,
            "first": offset + 1 if rows else 0,
            "last": offset + len(rows),
            "previous_url": with_query(request, offset=max(offset - limit, 0) or None) if offset > 0 else "",
            "next_url": with_query(request, offset=offset + limit) if offset + limit < (count or 0) else "",
            "csv_url": self.list_path() + "?" + urlencode(
                [("format", "csv")] + [("q", c) for c in conditions] + ([("ordering", ordering)] if ordering else [])),
            "bulk_actions": bulk_actions,
            "can_create": pages.can_create() and self.may("create", "POST"),
            "search_example": pages.search_example,
            "first_page_live": self.first_page_live(offset, ordering),
        }
        if is_htmx(request) and request.headers.get("HX-Target") == "results":
            return self.page("ui/_results.html", context)
        return self.page(pages.list_template, context)

    def first_page_live(self, offset, ordering):
        """``{"src", "resource_type"}`` when a row just created would show on this page (the first,
        in the default order or the newest first): console/live.js fetches the page's results
        again from ``src`` when a job of the account on a row of that type it does not show ends;
        for a type that announces its new rows (``new_rows``: an alarm), when one is announced."""
        if offset or ordering not in (self.pages.default_ordering, "-created_at"):
            return None
        new_rows = self.pages.new_rows_type()
        if new_rows is not None:
            return {"src": with_query(self.request, offset=None), "new_rows": new_rows}
        if self.pages.live_kind() != "resource":
            return None
        return {"src": with_query(self.request, offset=None), "resource_type": self.pages.model().resource_type()}

    def header(self, name, ordering, sortable):
        label = field_label(name, self.pages.labels)
        if not sortable:
            return {"label": label, "url": "", "sorted": ""}
        current = "asc" if ordering == name else "desc" if ordering == f"-{name}" else ""
        target = f"-{name}" if current == "asc" else name
        return {"label": label, "url": with_query(self.request, ordering=target, offset=None), "sorted": current}


class RowsView(PageView):
    """Some rows of the list (``?uuid=<uuid>&uuid=...``) as the list shows them: what a list page
    fetches when ``/ws/events/`` says they changed (console/live.js). The API's list answers them
    (``q=uuid?=...``), so a row gone, or not this user's, is simply not there."""

    MAX_ROWS = 200

    def get(self, request):
        uuids = [one for one in request.GET.getlist("uuid") if _is_uuid(one)][:self.MAX_ROWS]
        rows = []
        if uuids:
            answer = call(request, "GET", self.list_path(), {"q": "uuid?=" + ",".join(uuids), "limit": len(uuids)})
            rows = answer.data["results"] if answer.ok else []
        columns = shown_columns(self.pages, self.admin)
        return self.page("ui/_rows.html", {"rows": list_rows(request, self.pages, rows, columns,
                                                             bool(self.visible_actions(bulk=True)))})


def _is_uuid(value):
    try:
        uuid_lib.UUID(value)
        return True
    except ValueError:
        return False


class DetailView(PageView):
    """The object's fields, its related rows, tags, its jobs and its audit history."""

    def get(self, request, uuid):
        pages = self.pages
        answer = call(request, "GET", self.detail_path(uuid))
        if answer.status == 404 and is_live(request):
            return HttpResponse("")   # gone: live.js fades the page (a 404 is an error in the browser's log)
        if not answer.ok:
            return self.failed(answer)
        data = answer.data
        names = [n for n in (pages.detail_fields or list(data)) if n in data and n != "tags"]
        formatter = Formatter(pages, [data], request.user, site, self_links=False)
        fields = [(field_label(n, pages.labels), formatter.cell(n, data[n], data)) for n in names]
        context = {
            "title": data.get("name") or str(uuid),
            "object": data,
            "uuid": str(uuid),
            "fields": fields,
            "tags": data.get("tags") or [],
            "actions": [(a, a.destructive or pages.action_body(a) is not None)
                        for a in self.visible_actions(uuid=uuid)],
            "can_edit": pages.can_edit() and self.may("partial_update", "PATCH", uuid),
            "related": [self.related(r, uuid) for r in pages.related],
            "jobs": self.history("jobs", ["action", "state", "progress", "created_at", "finished_at"], uuid)
            if pages.with_history else None,
            "audit": self.history("audit-logs", ["action", "user_name", "result", "error_code",
                                                               "created_at"], uuid)
            if pages.with_history else None,
            "changes": self.history("change-logs", ["created_at", "action", "after", "user_name"], uuid)
            if pages.with_history else None,
            "object_tags": object_tags(request, uuid, data.get("tags") or []) if pages.taggable() else None,
        }
        if not is_live(request):   # a page fetched again swaps #live-detail alone: the panels stay
            context["panels"] = detail_panels(request, pages.api_basename(), data)
        context.update(self.more_context(data))
        return self.page(pages.detail_template, context)

    def more_context(self, data):
        """What a page of its own adds to the generic context (``data``: the API's answer)."""
        return {}

    def related(self, related, uuid):
        target = site.get(related.basename)
        return self._rows(target, related.basename, related.label or (target.title() if target else related.basename),
                          {"q": f"{related.field}={uuid}", "limit": related.limit},
                          shown_columns(target, self.admin) if target else ["uuid"],
                          reverse("ui:list", kwargs={"basename": related.basename}) + "?"
                          + urlencode({"q": f"{related.field}={uuid}"}) if target else "")

    def history(self, basename, columns, uuid):
        target = site.get(basename)
        label = target.title() if target else basename
        more = reverse("ui:list", kwargs={"basename": basename}) + "?" + urlencode(
            {"q": f"resource_uuid={uuid}"}) if target else ""
        return self._rows(target, basename, label, {"q": f"resource_uuid={uuid}", "ordering": "-created_at",
                                                    "limit": 10}, columns, more)

    def _rows(self, target, basename, label, query, columns, more_url):
        answer = call(self.request, "GET", list_path(basename), query)
        rows = answer.data.get("results", []) if answer.ok else []
        if target is None:
            return {"label": label, "error": answer.message, "headers": columns, "rows": [], "count": 0}
        return {"label": label, "error": "" if answer.ok else answer.message,
                "headers": [field_label(c, target.labels) for c in columns],
                "rows": table(self.request, target, rows, columns),
                "count": answer.data.get("count", 0) if answer.ok else 0, "more_url": more_url,
                "basename": basename}
