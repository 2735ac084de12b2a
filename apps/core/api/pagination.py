"""``limit``/``offset`` paging with a count, and a plan that stays fast on deep pages.

The page's primary keys are selected first (an index-only scan over the ordering
index), then the rows are fetched by key: ``OFFSET 50000`` then skips index
entries instead of whole rows (a deferred join). ``count=false`` skips the count;
one key more than the page is read so ``next`` is still exact without it.
``limit=0`` answers only the count.
"""
from collections import OrderedDict

from django.conf import settings
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from ..errors import InvalidArgument

MAX_LIMIT = 1000


def _int_param(request, name, default, maximum=None):
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidArgument(f"'{name}' must be a whole number, not '{raw}'", details={name: raw}) from None
    if value < 0 or (maximum is not None and value > maximum):
        bound = f"between 0 and {maximum}" if maximum is not None else "0 or more"
        raise InvalidArgument(f"'{name}' must be {bound}, not {value}", details={name: raw})
    return value


class LimitOffsetPagination(BasePagination):
    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.limit = _int_param(request, "limit", settings.REST_FRAMEWORK.get("PAGE_SIZE", 100), MAX_LIMIT)
        self.offset = _int_param(request, "offset", 0)
        want_count = request.query_params.get("count", "true").lower() not in ("false", "0", "no")
        self.count = queryset.count() if want_count else None
        self.has_more = False
        if self.limit == 0:
            return []
        # one key past the page tells whether there is a next page (needed when count=false)
        ids = list(queryset.values_list("pk", flat=True)[self.offset:self.offset + self.limit + 1])
        self.has_more = len(ids) > self.limit
        ids = ids[:self.limit]
        if not ids:
            return []
        rows = {row.pk: row for row in queryset.order_by().filter(pk__in=ids)}
        return [rows[pk] for pk in ids if pk in rows]

    def get_paginated_response(self, data):
        return Response(OrderedDict([
            ("count", self.count),
            ("next", self._next()),
            ("previous", self._previous()),
            ("results", data),
        ]))

    def _next(self):
        if not self.has_more:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, "offset", self.offset + self.limit)

    def _previous(self):
        if self.offset <= 0 or self.limit == 0:
            return None
        url = self.request.build_absolute_uri()
        previous = max(self.offset - self.limit, 0)
        return remove_query_param(url, "offset") if previous == 0 else replace_query_param(url, "offset", previous)

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "properties": {
                "count": {"type": "integer", "nullable": True},
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {"name": "q", "in": "query", "required": False, "style": "form", "explode": True,
             "description": "query condition FIELD OP VALUE (OP: = != > >= < <= ?= !?= ~= !~=; "
                            "=null, !=null); repeat for AND; dotted paths join relations",
             "schema": {"type": "array", "items": {"type": "string"}}},
            {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer"}},
            {"name": "offset", "in": "query", "required": False, "schema": {"type": "integer"}},
            {"name": "ordering", "in": "query", "required": False, "schema": {"type": "string"},
             "description": "comma list of fields, '-' for descending"},
            {"name": "fields", "in": "query", "required": False, "schema": {"type": "string"},
             "description": "comma list of fields to return"},
            {"name": "count", "in": "query", "required": False, "schema": {"type": "boolean"}},
        ]
