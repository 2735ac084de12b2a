import copy
import uuid as uuid_lib

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..tenancy import is_plain, visible, visible_by_uuid


@extend_schema_field(OpenApiTypes.UUID)
class UuidRelatedField(serializers.RelatedField):
    """A relation written and shown as the related resource's uuid (``zone_uuid``).

    Only rows the requesting user may see are accepted; anything else reads as
    "not found", the same answer as a uuid that does not exist.
    """

    default_error_messages = {
        "does_not_exist": "{model} {value} not found.",
        "invalid": "'{value}' is not a uuid.",
    }

    def __init__(self, *args, **kwargs):
        self.made_with = (args, dict(kwargs))   # what __deepcopy__ makes the copy from
        super().__init__(*args, **kwargs)

    def get_queryset(self):
        queryset = super().get_queryset()
        request = self.context.get("request")
        if request is not None:
            queryset = visible(queryset, request.user)
        return queryset

    def to_internal_value(self, data):
        try:
            value = uuid_lib.UUID(str(data))
        except (TypeError, ValueError, AttributeError):
            self.fail("invalid", value=data)
        obj = self._prepared_lookup(value)
        if obj is NotImplemented:
            # uuids are unique: no ORDER BY (what .first() would add) is needed to pick the row
            obj = next(iter(self.get_queryset().filter(uuid=value).order_by()[:1]), None)
        if obj is None:
            self.fail("does_not_exist", model=self.queryset.model.__name__.lower(), value=value)
        return obj

    def _prepared_lookup(self, value):
        """The row through a prepared query (``visible_by_uuid``) when the field takes every row
        of its model (its queryset unfiltered and ``get_queryset`` not overridden) and a request
        says who asks; NotImplemented otherwise (the ORM then does the lookup)."""
        request = self.context.get("request")
        queryset = self.queryset
        if (request is None or queryset is None or type(self).get_queryset is not UuidRelatedField.get_queryset
                or not is_plain(queryset)):
            return NotImplemented
        return visible_by_uuid(queryset, value, request.user)

    def __deepcopy__(self, memo):
        """DRF deep-copies every declared field for each serializer instance, and with it the
        ``queryset`` (its whole Query). A queryset is never changed in place (each use clones it:
        ``get_queryset`` starts with ``.all()``), so the copies share it."""
        args, kwargs = self.made_with
        kwargs = {key: value if key in ("queryset", "validators", "regex") else copy.deepcopy(value, memo)
                  for key, value in kwargs.items()}
        return self.__class__(*copy.deepcopy(args, memo), **kwargs)

    def to_representation(self, value):
        return str(value.uuid)

    def use_pk_only_optimization(self):
        return False
