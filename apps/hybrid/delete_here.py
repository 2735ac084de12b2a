"""``POST .../delete-here/`` on every mirrored cloud resource: the portal's row only, through
core's cascade delete (202 + job); the cloud keeps it, and the data centre's next sync brings it
back while it is there. DELETE, where a resource has one, deletes in the cloud first."""
from rest_framework.decorators import action

from apps.core import cascade as cascade_lib
from apps.core.api.flowstarts import accepted, audit
from apps.core.flows import start_job


class DeleteHere:
    """The action, on any viewset of these rows (a read-only one too: a VRouter's)."""

    @action(detail=True, methods=["post"], url_path="delete-here")
    def delete_here(self, request, uuid=None):
        """Delete it here only (the portal's row): it stays in the cloud, and the data centre's next
        sync brings it back (202 + job)."""
        row = self.get_object()
        audit(request, resource_type=row.resource_type(), resource_uuid=row.uuid)
        cascade_lib.check_blockers(row)
        shown = self.get_serializer(row).data
        job = start_job(cascade_lib.CASCADE_DELETE, resource=row, user=request.user,
                        args={"resource_type": row.resource_type(), "uuid": str(row.uuid)},
                        action=f"delete-here-{self.basename}")
        audit(request, job_uuid=job.uuid)
        return accepted(job, shown)
