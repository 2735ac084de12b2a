"""``POST /api/v1/vm-instances/<uuid>/migrate/`` and ``GET .../migration-candidates/``, as actions
for ``VmInstanceViewSet`` (docs/migration.md). Admin only, as in ZStack: which host a VM runs on
is the operator's business; a tenant gets 403."""
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core.errors import PermissionDenied
from apps.core.tenancy import is_admin

HOST_BRIEF = inline_serializer("MigrationHost", {
    "uuid": serializers.UUIDField(), "name": serializers.CharField(),
    "cluster_uuid": serializers.UUIDField(required=False)})
DRY_RUN_ANSWER = inline_serializer("VmMigrationPlan", {
    "mode": serializers.ChoiceField(choices=["live", "cold"]), "source": HOST_BRIEF, "destination": HOST_BRIEF})
CANDIDATES_ANSWER = inline_serializer("VmMigrationCandidates", {
    "mode": serializers.ChoiceField(choices=["live", "cold"]),
    "hosts": inline_serializer("MigrationCandidate", {
        "uuid": serializers.UUIDField(), "name": serializers.CharField(), "cluster_uuid": serializers.UUIDField(),
        "available_cpu": serializers.IntegerField(), "available_memory": serializers.IntegerField()}, many=True)})


class MigrateSerializer(serializers.Serializer):
    host_uuid = serializers.UUIDField(required=False, allow_null=True,
                                      help_text="the destination; absent or null: the allocator chooses")
    dry_run = serializers.BooleanField(required=False, default=False,
                                       help_text="answer the migration that would run, changing nothing")


def _admin(request):
    if not is_admin(request.user):
        raise PermissionDenied("only an admin account may migrate VMs", code="PERMISSION_DENIED")


def migrate_action():
    @extend_schema(request=MigrateSerializer, responses={202: None, 200: DRY_RUN_ANSWER})
    @action(detail=True, methods=["post"])
    def migrate(self, request, uuid=None):
        """Move the VM to another host: live when it runs (every volume on shared storage), cold
        when it is stopped (local volumes copied). 202 + job; with ``dry_run`` 200 and the plan.
        409 naming the state or why it cannot move; 422 when no host fits."""
        from .flows.vm_migrate import dry_run, plan

        _admin(request)
        vm = self.get_object()
        body = MigrateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        host_uuid = body.validated_data.get("host_uuid")
        if body.validated_data.get("dry_run"):
            return Response(dry_run(vm, host_uuid))
        flow, args = plan(vm, host_uuid)
        return self.start_flow(flow, vm, args)

    return migrate


def candidates_action():
    @extend_schema(request=None, responses={200: CANDIDATES_ANSWER},
                   parameters=[OpenApiParameter("limit", int, description="at most this many (default 20)")])
    @action(detail=True, methods=["get"], url_path="migration-candidates")
    def migration_candidates(self, request, uuid=None):
        """The hosts the VM could migrate to now, best first (the allocator's filters); 409 when it
        cannot migrate at all, ``hosts`` empty when no host fits."""
        from apps.core.errors import Unplaceable
        from apps.infra.models import Host

        from .flows.vm_migrate import destinations, mode_of, volumes_of

        _admin(request)
        vm = self.get_object()
        mode = mode_of(vm, volumes_of(vm))
        try:
            limit = max(1, min(100, int(request.query_params.get("limit", 20))))
        except ValueError:
            limit = 20
        try:
            found = destinations(vm, limit=limit)
        except Unplaceable:
            found = []
        rows = {h.pk: h for h in Host.objects.filter(pk__in=[h.pk for h in found]).select_related("cluster")}
        hosts = []
        for host in found:
            row = rows[host.pk]
            hosts.append({"uuid": str(row.uuid), "name": row.name, "cluster_uuid": str(row.cluster.uuid),
                          "available_cpu": host.available_cpu, "available_memory": host.available_memory})
        return Response({"mode": mode, "hosts": hosts})

    return migration_candidates
