"""API base classes: a new resource needs a model, a serializer and a few-line viewset.

``QueryViewSet`` gives every list the query DSL, paging with a count, ``fields=``,
CSV and tenancy. ``ResourceViewSet`` adds create/update, state actions declared as
``state_actions = {"enable": "enable", ...}`` (event names of the model's state
machine), tags, audit details, and delete through the cascade-delete flow
(``?dry_run=true`` answers the plan).
"""
from django.db import transaction
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import cascade as cascade_lib
from ..errors import InvalidArgument, ResourceBusy
from ..query import apply_ordering, apply_query
from ..tenancy import is_admin, visible
from .flowstarts import FlowStartsMixin, audit, truthy  # noqa: F401  (audit: apps import it from here)
from .permissions import ReadAllWriteByAdmin
from .serializers import admin_only_fields, readable_fields, relations_read, represent_many
from .tags import tags_for

UUID_REGEX = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


class QueryViewSet(viewsets.GenericViewSet):
    lookup_field = "uuid"
    lookup_value_regex = UUID_REGEX
    permission_classes = [ReadAllWriteByAdmin]
    with_tags = False
    # the relations a row's fields read, loaded with it: forward ones joined (``select_related``),
    # many ones prefetched (names or ``Prefetch``). A GET asking ``fields=`` loads only those its
    # fields read (the console's lists ask for the columns they show).
    joins = ()
    prefetches = ()

    def get_model(self):
        return self.queryset.model

    def asked_fields(self):
        """The field names a GET's ``fields=`` asks for (not yet checked: see
        ``get_serializer_context``); None when it asks for none (all of them)."""
        fields = self.request.query_params.get("fields") if self.request is not None else None
        if not fields or self.request.method != "GET":
            return None
        return [f.strip() for f in fields.split(",") if f.strip()] or None

    def load_related(self, queryset):
        """``queryset`` with the declared ``joins`` and ``prefetches`` the asked fields read."""
        asked = self.asked_fields()
        read = None if asked is None else relations_read(self.get_serializer_class(), asked)
        joins = [j for j in self.joins if read is None or j in read]
        prefetches = [p for p in self.prefetches
                      if read is None or (p if isinstance(p, str) else p.prefetch_through) in read]
        if joins:
            queryset = queryset.select_related(*joins)
        if prefetches:
            queryset = queryset.prefetch_related(*prefetches)
        return queryset

    def initial(self, request, *args, **kwargs):
        # name the action before permission checks, so refused calls are audited by name too
        if self.action and request.method not in ("GET", "HEAD", "OPTIONS"):
            audit(request, action=f"{self.basename}.{self.action.replace('_', '-')}")
        super().initial(request, *args, **kwargs)

    def get_queryset(self):
        # a shared row (a public image) is read by all, changed by its owner only (404 otherwise)
        queryset = visible(super().get_queryset(), self.request.user,
                           for_write=self.request.method not in ("GET", "HEAD", "OPTIONS"))
        queryset = self.load_related(queryset)
        if self.action == "list":
            queryset = apply_query(queryset, self.request.query_params.getlist("q"), self.request.user)
            queryset = apply_ordering(queryset, self.request.query_params.get("ordering"), self.request.user)
        return queryset

    def get_serializer_context(self):
        context = super().get_serializer_context()
        wanted = self.asked_fields() if self.request else None
        if wanted:
            serializer_class = self.get_serializer_class()
            known = readable_fields(serializer_class)
            if not is_admin(self.request.user):
                hidden = admin_only_fields(serializer_class)
                asked = [f for f in wanted if f in hidden]
                if asked:
                    raise InvalidArgument(
                        f"field '{asked[0]}' is shown to admin accounts only",
                        code="INVALID_QUERY_FIELD",
                        details={"field": asked[0], "fields": sorted(known - hidden)},
                    )
            unknown = [f for f in wanted if f not in known]
            if unknown:
                raise InvalidArgument(
                    f"unknown field '{unknown[0]}' in fields=",
                    code="INVALID_QUERY_FIELD",
                    details={"field": unknown[0], "fields": sorted(known)},
                )
            context["fields"] = set(wanted)
        return context

    def list(self, request, *args, **kwargs):
        queryset = self.get_queryset()
        page = self.paginate_queryset(queryset)
        context = self.get_serializer_context()
        if self.with_tags and ("tags" in context["fields"] if context.get("fields") else True):
            context["tags"] = tags_for([row.uuid for row in page], request.user)
        return self.get_paginated_response(represent_many(self.get_serializer_class(), page, context))


class ReadOnlyQueryViewSet(QueryViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    pass


class ResourceViewSet(FlowStartsMixin, QueryViewSet, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                      mixins.UpdateModelMixin):
    """CRUD + DSL + tags + audit + state actions + flows started (``flow_actions``, ``start_create``:
    apps/core/api/flowstarts.py) + cascade delete for a Resource."""

    with_tags = True
    state_actions = {}  # url action -> state machine event
    state_machine = None
    delete_flow = None  # DELETE runs this flow (the cascade plus clean-up on hosts); None: the plain cascade

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name, event in cls.state_actions.items():
            setattr(cls, name.replace("-", "_"), cls._make_state_action(name, event))

    @staticmethod
    def _make_state_action(name, event):
        def state_action(self, request, uuid=None):
            return self.change_state(request, event)

        state_action.__name__ = name.replace("-", "_")
        state_action.__doc__ = f"Apply the '{event}' event to the resource's state (409 when not allowed)."
        return action(detail=True, methods=["post"], url_path=name)(state_action)

    def get_serializer(self, *args, **kwargs):
        kwargs.setdefault("context", self.get_serializer_context())
        return self.get_serializer_class()(*args, **kwargs)

    # --- writes --------------------------------------------------------------
    def perform_create(self, serializer):
        extra = {}
        model = self.get_model()
        if getattr(model, "tenant_path", None) == "account":
            extra["account"] = self.request.user.account
        instance = serializer.save(**extra)
        audit(self.request, action=f"{self.basename}.create", resource_type=instance.resource_type(),
              resource_uuid=instance.uuid)

    def perform_update(self, serializer):
        instance = serializer.instance
        with transaction.atomic():
            locked = type(instance).objects.select_for_update().get(pk=instance.pk)
            if locked.busy_job:
                raise ResourceBusy(
                    f"{instance.resource_type()} {instance.uuid} is busy with job {locked.busy_job}",
                    details={"job_uuid": str(locked.busy_job)},
                )
            serializer.save()
        audit(self.request, action=f"{self.basename}.update", resource_type=instance.resource_type(),
              resource_uuid=instance.uuid)

    def change_state(self, request, event):
        obj = self.get_object()
        audit(request, action=f"{self.basename}.{event}", resource_type=obj.resource_type(), resource_uuid=obj.uuid)
        with transaction.atomic():
            locked = type(obj).objects.select_for_update().get(pk=obj.pk)
            if locked.busy_job:
                raise ResourceBusy(
                    f"{obj.resource_type()} {obj.uuid} is busy with job {locked.busy_job}",
                    details={"job_uuid": str(locked.busy_job)},
                )
            new_state = self.state_machine.next(locked.state, event)
            if new_state != locked.state:
                locked.state = new_state
                locked.save(update_fields=["state", "updated_at"])
        return Response(self.get_serializer(locked).data)

    # --- delete ------------------------------------------------------------------
    def destroy(self, request, *args, **kwargs):
        obj = self.get_object()
        if self.delete_action is not None:
            return self.run_flow_action(self.delete_action, obj)
        audit(request, action=f"{self.basename}.delete", resource_type=obj.resource_type(), resource_uuid=obj.uuid)
        if truthy(request.query_params.get("dry_run", "false")):
            return Response(cascade_lib.dry_run(obj))
        cascade_lib.check_blockers(obj)
        return self.start_flow(self.get_delete_flow(obj), obj, {"resource_type": obj.resource_type(),
                                                                "uuid": str(obj.uuid)},
                               action=f"delete-{self.basename}")

    def get_delete_flow(self, obj):
        """The flow DELETE runs for ``obj``: ``delete_flow``, else the plain cascade."""
        return self.delete_flow or cascade_lib.CASCADE_DELETE
