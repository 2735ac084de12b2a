"""``limit``/``offset`` paging with a count, and a plan that stays fast on deep pages.

- The page's primary keys are selected first (an index-only scan over the
  ordering index), then the rows are fetched by key: ``OFFSET 50000`` then skips
  index entries instead of whole rows (a deferred join).
- When the count is known and the page lies in the second half of the result,
  the keys are read from the far end in the reverse order (``OFFSET count -
  offset - limit``) and flipped: the last page costs what the first one does.
- ``count=false`` skips the count; one key more than the page is read so
  ``next`` is exact without it. ``limit=0`` answers only the count.
- Large counts are cached: a count of ``QUERY_COUNT_CACHE_MIN_ROWS`` (10,000)
  rows or more is kept ``QUERY_COUNT_CACHE_SECONDS`` (10 s; 0 turns it off) in
  the Django cache under the SQL of the query, so paging through a big list
  counts it once, not on every page. Smaller counts are always exact. Each
  process also keeps the counts it read or made until they expire, so a list
  asked again within those seconds does not ask the cache either.
"""
import hashlib
import logging
import time
from collections import OrderedDict

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from ..errors import InvalidArgument

log = logging.getLogger(__name__)

MAX_LIMIT = 1000
MAX_OFFSET = 10**12


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


def _count_settings():
    return (float(getattr(settings, "QUERY_COUNT_CACHE_SECONDS", 10)),
            int(getattr(settings, "QUERY_COUNT_CACHE_MIN_ROWS", 10_000)))


# this process's copies of cached counts: key -> (count, when it expires in the cache, as time.time())
_recent_counts = {}
_RECENT_COUNTS_MAX = 1000


def count_rows(queryset):
    """``(count, fresh)``: ``queryset.count()``, or a recent large count from the cache
    (``fresh`` is then false)."""
    ttl, minimum = _count_settings()
    if ttl <= 0:
        return queryset.count(), True
    key = None
    try:
        sql, params = queryset.order_by().query.sql_with_params()
        database = connections[queryset.db].settings_dict["NAME"]
        key = "cp:count:" + hashlib.sha256(repr((database, sql, params)).encode()).hexdigest()
        now = time.time()
        known = _recent_counts.get(key)
        if known is None or known[1] <= now:
            known = cache.get(key)  # (count, expires) as whichever process counted stored it
            if isinstance(known, tuple) and known[1] > now:
                _keep(key, known)
            else:
                known = None
        if known is not None:
            return known[0], False
    except Exception:  # noqa: BLE001 - a cache that is down must not fail the list
        log.warning("count cache unavailable", exc_info=True)
    count = queryset.count()
    if key is not None and count >= minimum:
        counted = (count, time.time() + ttl)
        _keep(key, counted)
        try:
            cache.set(key, counted, ttl)
        except Exception:  # noqa: BLE001
            log.warning("count cache unavailable", exc_info=True)
    return count, True


def _keep(key, counted):
    """Remember a count this process read or made, until it expires where it is cached."""
    if len(_recent_counts) >= _RECENT_COUNTS_MAX:  # many distinct queries: start again rather than grow
        _recent_counts.clear()
    _recent_counts[key] = counted


def _totally_ordered(queryset):
    """Ordered with the primary key as the last key: the reverse order is an exact mirror."""
    keys = queryset.query.order_by
    return bool(keys) and isinstance(keys[-1], str) and keys[-1].lstrip("-") in ("id", "pk")


def page_keys(queryset, offset, limit, total=None):
    """The primary keys at ``[offset, offset + limit)`` in the queryset's order.

    With ``total`` (the row count) and a page past the middle, the keys are read
    from the end in the reverse order, so the database skips ``total - offset``
    index entries instead of ``offset``. (``total`` must come from the database in
    this request: rows added between the two statements shift the page as they
    would between two requests.)"""
    if total is not None and total // 2 < offset < total and _totally_ordered(queryset):
        end = min(offset + limit, total)
        keys = list(queryset.reverse().values_list("pk", flat=True)[total - end:total - offset])
        keys.reverse()
        return keys
    return list(queryset.values_list("pk", flat=True)[offset:offset + limit])


class LimitOffsetPagination(BasePagination):
    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.limit = _int_param(request, "limit", settings.REST_FRAMEWORK.get("PAGE_SIZE", 100), MAX_LIMIT)
        self.offset = _int_param(request, "offset", 0, MAX_OFFSET)
        want_count = request.query_params.get("count", "true").lower() not in ("false", "0", "no")
        self.count = None
        self.has_more = False
        total = None
        if want_count:
            self.count, fresh = count_rows(queryset)
            # only a count just read from the database may steer the reverse scan:
            # a cached one can be a few seconds old, and the page would shift
            total = self.count if fresh else None
        if self.limit == 0:
            return []
        # one key past the page tells whether there is a next page (needed when count=false)
        ids = page_keys(queryset, self.offset, self.limit + 1, total)
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
