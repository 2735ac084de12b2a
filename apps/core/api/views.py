"""The core's own endpoints: jobs, tags, global configs, audit and change logs."""
import uuid as uuid_lib

from django.db import IntegrityError, transaction
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import systemtags
from ..errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from ..flows import request_cancel
from ..globalconfig import get_def, sync_registry
from ..models import RESOURCE_TYPES, AuditLog, ChangeLog, GlobalConfig, Job, ResourceConfig, Tag
from ..tenancy import is_admin, visible
from .permissions import AdminOnly, GlobalConfigWrites
from .serializers import (
    AuditLogSerializer,
    ChangeLogSerializer,
    ConfigValueSerializer,
    GlobalConfigSerializer,
    JobSerializer,
    ResourceConfigListSerializer,
    ResourceConfigSerializer,
    TagSerializer,
)
from .viewsets import QueryViewSet, ReadOnlyQueryViewSet, audit


def shown_on_a_page(queryset, serializer_class, joined):
    """``queryset`` reading only what a list page shows: the columns ``serializer_class`` shows as
    they are, and the uuid of each ``joined`` row (its ``<name>_uuid`` field). The other columns of
    the rows and the joined ones (their names, JSON, dates) are neither read nor converted."""
    columns = {field.name for field in queryset.model._meta.concrete_fields}
    shown = [name for name in serializer_class.Meta.fields if name in columns]
    return queryset.only(*shown, *(f"{name}__uuid" for name in joined))


class JobViewSet(ReadOnlyQueryViewSet):
    """Jobs: the record of every flow. ``POST /jobs/<uuid>/cancel/`` cancels one."""

    queryset = Job.objects.select_related("account").defer("context", "args")  # the API shows neither
    serializer_class = JobSerializer

    def get_queryset(self):
        queryset = super().get_queryset()
        return shown_on_a_page(queryset, JobSerializer, ["account"]) if self.action == "list" else queryset

    @action(detail=True, methods=["post"])
    def cancel(self, request, uuid=None):
        job = self.get_object()
        audit(request, action="jobs.cancel", resource_type="Job", resource_uuid=job.uuid, job_uuid=job.uuid)
        job = request_cancel(job)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


def find_resource(resource_uuid, user):
    """The visible resource with this uuid, of any registered type (404 otherwise)."""
    for model in RESOURCE_TYPES.values():
        obj = visible(model.objects.filter(uuid=resource_uuid), user).first()
        if obj is not None:
            return obj
    raise NotFound(f"resource {resource_uuid} not found")


class TagViewSet(QueryViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin):
    """User tags (free labels, owned by the account that set them) and system tags."""

    queryset = Tag.objects.select_related("account")
    serializer_class = TagSerializer

    def create(self, request):
        serializer = TagSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        target = find_resource(data["resource_uuid"], request.user)
        audit(request, action="tags.create", resource_type=target.resource_type(), resource_uuid=target.uuid)
        tag = data["tag"].strip()
        if not tag:
            raise InvalidArgument("a tag may not be blank", details={"tag": ["may not be blank"]})
        account = request.user.account
        if data["type"] == "system":
            if not is_admin(request.user):
                raise PermissionDenied("only an admin account may set system tags")
            systemtags.validate(target.resource_type(), tag)
            account = None
        try:
            with transaction.atomic():
                row = Tag.objects.create(resource_type=target.resource_type(), resource_uuid=target.uuid,
                                         tag=tag, type=data["type"], account=account)
        except IntegrityError:
            raise Conflict(f"{target.resource_type()} {target.uuid} already has tag '{tag}'",
                           code="DUPLICATE_TAG") from None
        if account is None and Tag.objects.filter(resource_uuid=target.uuid, tag=tag, account=None).count() > 1:
            row.delete()
            raise Conflict(f"{target.resource_type()} {target.uuid} already has tag '{tag}'", code="DUPLICATE_TAG")
        return Response(TagSerializer(row).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        if instance.type == "system" and not is_admin(self.request.user):
            raise PermissionDenied("only an admin account may remove system tags")
        audit(self.request, action="tags.delete", resource_type=instance.resource_type,
              resource_uuid=instance.resource_uuid)
        instance.delete()


class AuditLogViewSet(ReadOnlyQueryViewSet):
    queryset = AuditLog.objects.select_related("account")
    serializer_class = AuditLogSerializer

    def get_queryset(self):
        queryset = super().get_queryset()
        return shown_on_a_page(queryset, AuditLogSerializer, ["account"]) if self.action == "list" else queryset


class ChangeLogViewSet(ReadOnlyQueryViewSet):
    queryset = ChangeLog.objects.all()
    serializer_class = ChangeLogSerializer


class GlobalConfigViewSet(QueryViewSet, mixins.ListModelMixin):
    """Typed settings; ``PATCH /global-configs/<category>/<name>/ {"value": ...}`` (admin)."""

    queryset = GlobalConfig.objects.all()
    serializer_class = GlobalConfigSerializer

    def list(self, request, *args, **kwargs):
        sync_registry()
        return super().list(request, *args, **kwargs)


def _config_row(category, name):
    definition = get_def(category, name)
    row = GlobalConfig.objects.filter(category=category, name=name).first()
    if row is None:
        sync_registry()
        row = GlobalConfig.objects.get(category=category, name=name)
    return definition, row


@extend_schema(tags=["global-configs"])
class GlobalConfigDetail(APIView):
    serializer_class = GlobalConfigSerializer
    permission_classes = [GlobalConfigWrites]

    @extend_schema(operation_id="global_config_get", responses=GlobalConfigSerializer)
    def get(self, request, category, name):
        _, row = _config_row(category, name)
        return Response(GlobalConfigSerializer(row).data)

    @extend_schema(operation_id="global_config_update", request=ConfigValueSerializer,
                   responses=GlobalConfigSerializer)
    def patch(self, request, category, name):
        definition, row = _config_row(category, name)
        audit(request, action="global-configs.update", resource_type="GlobalConfig")
        if not isinstance(request.data, dict) or "value" not in request.data:
            raise InvalidArgument('send {"value": ...}', details={"value": ["This field is required."]})
        value = definition.parse(request.data["value"])
        row.value = value
        row.save(update_fields=["value", "updated_at"])
        return Response(GlobalConfigSerializer(row).data)

    @extend_schema(operation_id="global_config_replace", request=ConfigValueSerializer,
                   responses=GlobalConfigSerializer)
    def put(self, request, category, name):
        return self.patch(request, category, name)

    @extend_schema(operation_id="global_config_reset", responses=GlobalConfigSerializer)
    def delete(self, request, category, name):
        """Reset to the default."""
        definition, row = _config_row(category, name)
        audit(request, action="global-configs.reset", resource_type="GlobalConfig")
        row.value = definition.default
        row.save(update_fields=["value", "updated_at"])
        return Response(GlobalConfigSerializer(row).data)


def _override_body(definition, row):
    return {"category": definition.category, "name": definition.name, "resource_type": row.resource_type,
            "resource_uuid": str(row.resource_uuid), "value": row.value, "updated_at": row.updated_at}


@extend_schema(tags=["global-configs"])
class ResourceConfigList(APIView):
    """Resource-level overrides of one global config."""

    @extend_schema(operation_id="resource_config_list", responses=ResourceConfigListSerializer)
    def get(self, request, category, name):
        definition = get_def(category, name)
        rows = ResourceConfig.objects.filter(category=category, name=name)
        if not is_admin(request.user):
            rows = [r for r in rows if _visible_uuid(r.resource_uuid, request.user)]
        return Response({
            "overridable_by": list(definition.overridable_by),
            "results": [_override_body(definition, r) for r in rows],
        })


def _visible_uuid(resource_uuid, user):
    try:
        find_resource(resource_uuid, user)
        return True
    except NotFound:
        return False


@extend_schema(tags=["global-configs"])
class ResourceConfigDetail(APIView):
    permission_classes = [AdminOnly]
    serializer_class = ResourceConfigSerializer

    def _target(self, request, category, name, resource_uuid):
        definition = get_def(category, name)
        try:
            resource_uuid = uuid_lib.UUID(str(resource_uuid))
        except ValueError:
            raise InvalidArgument(f"'{resource_uuid}' is not a uuid") from None
        target = find_resource(resource_uuid, request.user)
        if target.resource_type() not in definition.overridable_by:
            raise InvalidArgument(
                f"{definition.key} cannot be overridden on a {target.resource_type()}",
                code="NOT_OVERRIDABLE",
                details={"overridable_by": list(definition.overridable_by)},
            )
        return definition, target

    @extend_schema(operation_id="resource_config_get", responses=ResourceConfigSerializer)
    def get(self, request, category, name, resource_uuid):
        definition, target = self._target(request, category, name, resource_uuid)
        row = ResourceConfig.objects.filter(category=category, name=name, resource_uuid=target.uuid).first()
        if row is None:
            raise NotFound(f"{definition.key} has no override on {target.resource_type()} {target.uuid}")
        return Response({**_override_body(definition, row), "effective": definition.value(resource=target)})

    @extend_schema(operation_id="resource_config_set", request=ConfigValueSerializer,
                   responses=ResourceConfigSerializer)
    def put(self, request, category, name, resource_uuid):
        definition, target = self._target(request, category, name, resource_uuid)
        audit(request, action="resource-configs.update", resource_type=target.resource_type(),
              resource_uuid=target.uuid)
        if not isinstance(request.data, dict) or "value" not in request.data:
            raise InvalidArgument('send {"value": ...}', details={"value": ["This field is required."]})
        value = definition.parse(request.data["value"])
        row, _ = ResourceConfig.objects.update_or_create(
            category=category, name=name, resource_uuid=target.uuid,
            defaults={"value": value, "resource_type": target.resource_type()},
        )
        return Response(_override_body(definition, row))

    @extend_schema(operation_id="resource_config_update", request=ConfigValueSerializer,
                   responses=ResourceConfigSerializer)
    def patch(self, request, category, name, resource_uuid):
        return self.put(request, category, name, resource_uuid)

    @extend_schema(operation_id="resource_config_delete", responses={204: None})
    def delete(self, request, category, name, resource_uuid):
        definition, target = self._target(request, category, name, resource_uuid)
        audit(request, action="resource-configs.delete", resource_type=target.resource_type(),
              resource_uuid=target.uuid)
        deleted = ResourceConfig.objects.filter(category=category, name=name, resource_uuid=target.uuid).delete()[0]
        if not deleted:
            raise NotFound(f"{definition.key} has no override on {target.resource_type()} {target.uuid}")
        return Response(status=status.HTTP_204_NO_CONTENT)

