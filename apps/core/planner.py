"""Query shapes that keep MariaDB's planner on the cheap path.

``any_row(queryset)``: "the queryset has a row", for a filter evaluated per row of an outer query
that stops early (``ORDER BY id LIMIT n`` walking the primary key). Written as ``EXISTS(...)``,
MariaDB turns the subquery into a semi-join (``exists_to_in``), which makes it read every outer row
that matches, put them in a temporary table and sort them before the LIMIT applies: the
allocator's window of 8 hosts read all 1,000 hosts of a cluster (docs/benchmarks.md). A scalar
subquery, ``(SELECT pk ... LIMIT 1) IS NOT NULL``, is never flattened: the outer query reads rows
in index order, checks each and stops at the LIMIT. SQLite is indifferent. Apps reach it as
``queryset.as_condition()`` (apps.core.models.querysets).
"""
from django.db.models import Subquery
from django.db.models.lookups import IsNull


def any_row(queryset):
    """A filter condition true when ``queryset`` (usually correlated with ``OuterRef``) has a row."""
    return IsNull(Subquery(queryset.values("pk")[:1]), False)
