"""Models besides the Resources that ``/ws/events/`` lets a user follow: a hook, since core imports
no app. Monitoring registers its alarms and their history (plain models: no jobs, tags or change
log) in its AppConfig.ready.

A followable row is followed by uuid as a Resource is (``{"subscribe": {"resource": [...]}}``);
whoever changes it announces the change with ``publish_resource_change`` under the type it was
registered with. A type registered with ``new_rows`` also announces the rows it adds
(``publish_new_row``), which a list showing its first page follows (``{"subscribe": {"new_rows":
"<type>"}}``): every row to an admin, the account's own to anyone else.
"""
FOLLOWABLE = {}   # resource type -> Followable


class Followable:
    """``visible(queryset, user)``: the rows ``user`` may follow (default: core's tenancy, by the
    model's ``tenant_path``). ``rows_change``: its rows change after they are made (a list's rows
    and a detail page follow them); ``new_rows``: it announces the rows it adds."""

    def __init__(self, model, resource_type, visible=None, rows_change=True, new_rows=False):
        self.model, self.resource_type = model, resource_type
        self.rows_change, self.new_rows = rows_change, new_rows
        self._visible = visible

    def visible(self, queryset, user):
        if self._visible is not None:
            return self._visible(queryset, user)
        from ..tenancy import visible

        return visible(queryset, user)

    def made_since(self, user, since):
        """Whether a row ``user`` may follow was made since ``since`` (by its ``created_at``)."""
        if not any(f.name == "created_at" for f in self.model._meta.concrete_fields):
            return False
        return self.visible(self.model.objects.filter(created_at__gte=since), user).exists()

    def changed_since(self, uuids, since):
        """Of ``uuids``, the rows saved since ``since`` (no job says so: their ``updated_at`` does)."""
        if not any(f.name == "updated_at" for f in self.model._meta.concrete_fields):
            return []
        rows = self.model.objects.filter(uuid__in=uuids, updated_at__gte=since)
        return [str(u) for u in rows.values_list("uuid", flat=True)]


def register_followable(model, resource_type=None, **options):
    """Let ``/ws/events/`` follow rows of ``model`` (it needs a unique ``uuid`` field)."""
    resource_type = resource_type or model.__name__
    FOLLOWABLE[resource_type] = Followable(model, resource_type, **options)
    return FOLLOWABLE[resource_type]


def followable_of(model):
    """The registration of ``model``, or None (Resources need none)."""
    return next((f for f in FOLLOWABLE.values() if f.model is model), None)


def followed_model(resource_type):
    """The model of a type events are announced under: a Resource's, or a registered one's."""
    from ..models import RESOURCE_TYPES

    found = RESOURCE_TYPES.get(resource_type)
    if found is None and resource_type in FOLLOWABLE:
        found = FOLLOWABLE[resource_type].model
    return found
