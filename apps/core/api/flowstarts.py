"""Starting flows from the API: a viewset declares what starts which flow; core does the rest.

    class HostViewSet(ResourceViewSet):
        flow_actions = {"reconnect": FlowAction(RECONNECT_HOST, args=lambda host, data: {"host_uuid": ...})}

        def start_create(self, data):            # POST: the row, and the flow that finishes making it
            host = Host.objects.create(...)
            return [FlowStart(host, ADD_HOST, {"host_uuid": str(host.uuid)})]

For every flow started that way: the audit row names the resource and the job; a resource another
job holds is refused with a 409 naming it (the job's claim, ``start_job``); the job goes to the
workers once the request's transaction commits; the answer is 202 with the job (and its
``Location``) and the resource. A create's rows, jobs and audit row are one transaction.
"""
from collections import namedtuple

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from ..flows import start_job
from ..middleware import write_in_transaction
from .serializers import JobSerializer, represent


def audit(request, **fields):
    """Tell the audit middleware what this call did (resource, action, job)."""
    record = getattr(request, "audit", None)   # a DRF request reads it from the Django request
    if record is not None:
        record.update({k: v for k, v in fields.items() if v is not None})


def accepted(job, resource_data=None):
    """202 for a request that started a flow: the job, the resource, and where to follow it."""
    return Response(
        {"job": represent(JobSerializer, job), "resource": resource_data},
        status=status.HTTP_202_ACCEPTED,
        headers={"Location": f"/api/v1/jobs/{job.uuid}/"},
    )


def truthy(value):
    return str(value).lower() in ("1", "true", "yes")


# what a create starts: ``resource`` (inserted already, claimed by ``job_uuid`` when given: no claim
# UPDATE then) and ``flow`` with ``args``; ``shown``: what the answer shows when it is not the
# resource the job holds (a VM placed in a cloud: its job holds the cloud instance's row)
FlowStart = namedtuple("FlowStart", "resource flow args job_uuid shown", defaults=(None, None))


class FlowAction:
    """``POST .../<uuid>/<name>/`` (a key of a viewset's ``flow_actions``): starts ``flow`` on the
    resource with ``args(resource, data)``, which may refuse first by raising. ``data``: the body
    as ``body`` (a serializer class) validated it, else the body as given. An action whose flow
    depends on the resource's state or a global config gives ``plan(resource, data) -> (flow,
    args)`` instead of ``flow``/``args``. ``doc``: the action's description in the API docs."""

    def __init__(self, flow=None, *, args=None, plan=None, body=None, doc=None):
        if (flow is None) == (plan is None):
            raise TypeError("FlowAction: give a flow (with its args) or a plan function")
        self.flow, self.args, self.plan, self.body = flow, args, plan, body
        self.doc = doc or (f"Start the {flow.name} flow (202 + job)." if flow is not None else "")

    def data(self, view):
        if self.body is None:
            return dict(view.request.data) if hasattr(view.request.data, "items") else {}
        serializer = self.body(data=view.request.data, context=view.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def plan_for(self, view, resource, data):
        """``(flow, args)`` for this call; a subclass whose plan needs the request (its user)
        overrides this rather than starting the job itself."""
        if self.plan is not None:
            return self.plan(resource, data)
        return self.flow, (self.args(resource, data) if self.args is not None else {})

    def begin(self, view, resource, data):
        flow, args = self.plan_for(view, resource, data)
        return start_job(flow, resource=resource, user=view.request.user, args=args)

    def view_method(self, name):
        def flow_action(view, request, uuid=None):
            return view.run_flow_action(self, view.get_object())

        flow_action.__name__ = name.replace("-", "_")
        flow_action.__doc__ = self.doc
        return extend_schema(request=self.body)(action(detail=True, methods=["post"], url_path=name)(flow_action))


class FlowStartsMixin:
    """What ResourceViewSet does with its flow declarations: ``flow_actions`` (``FlowAction`` by
    URL name), ``start_create(data)`` (the ``FlowStart`` list of a POST: it makes the rows,
    core starts their flows), ``create_serializer_class`` (what a POST is validated with) and
    ``delete_action`` (a ``FlowAction`` DELETE runs instead of the cascade delete)."""

    flow_actions = {}
    create_serializer_class = None
    delete_action = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name, flow_action in cls.__dict__.get("flow_actions", {}).items():
            setattr(cls, name.replace("-", "_"), flow_action.view_method(name))

    def get_serializer_class(self):
        if self.action == "create" and self.create_serializer_class is not None:
            return self.create_serializer_class
        return super().get_serializer_class()

    def start_create(self, data):
        """The ``FlowStart`` list of a POST (one per resource it makes), or None: the plain
        create (no flow)."""
        return None

    def dry_run_create(self, data):
        """The answer to ``POST ...?dry_run=true``: what the create would do (None: not offered)."""
        return None

    def create(self, request, *args, **kwargs):
        if type(self).start_create is FlowStartsMixin.start_create:
            return super().create(request, *args, **kwargs)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if truthy(request.query_params.get("dry_run", "false")):
            planned = self.dry_run_create(serializer.validated_data)
            if planned is not None:
                return Response(planned)
        return self.start_flows(lambda: self.start_create(serializer.validated_data))

    def start_flows(self, make_starts):
        """Make resources and start their flows for this request (``make_starts()``: their
        ``FlowStart`` list): the rows, their jobs and the audit row in one transaction, then 202
        with the job and the resource (with several, ``{"jobs": [...], "resources": [...]}``),
        rendered without reading them back: nothing is tagged yet or points at them (their flows
        add that), unless a flow ran inline already (Celery eager mode outside a transaction)."""
        request = self.request
        with transaction.atomic():
            starts = make_starts()
            jobs = [start_job(start.flow, resource=start.resource, user=request.user, args=start.args,
                              job_uuid=start.job_uuid) for start in starts]
            resources = [start.resource if start.shown is None else start.shown for start in starts]
            first = resources[0]
            audit(request, resource_type=first.resource_type(), resource_uuid=first.uuid, job_uuid=jobs[0].uuid)
            write_in_transaction(request, status.HTTP_202_ACCEPTED)
        context = self.get_serializer_context()
        if not _jobs_ran_inline():
            context["tags"], context["created"] = {}, True
        for job in jobs:
            _own_account(job, self.request.user)
        shown = type(self).serializer_class
        if len(resources) == 1:
            return accepted(jobs[0], represent(shown, resources[0], context))
        return Response({"jobs": JobSerializer(jobs, many=True).data,
                         "resources": shown(resources, many=True, context=context).data},
                        status=status.HTTP_202_ACCEPTED)

    def run_flow_action(self, flow_action, resource):
        """Start ``flow_action`` on ``resource`` for this request: audited, 202."""
        audit(self.request, resource_type=resource.resource_type(), resource_uuid=resource.uuid)
        data = flow_action.data(self)
        shown = self.get_serializer(resource).data   # as it is now: a flow run inline may change it
        return self._started(flow_action.begin(self, resource, data), shown)

    def start_flow(self, flow, resource, args, **options):
        """Start ``flow`` on ``resource`` with ``args`` for this request: audited, 202
        (``options``: ``start_job``'s, e.g. the job's ``action``)."""
        audit(self.request, resource_type=resource.resource_type(), resource_uuid=resource.uuid)
        shown = self.get_serializer(resource).data
        return self._started(start_job(flow, resource=resource, user=self.request.user, args=args, **options), shown)

    def _started(self, job, shown):
        audit(self.request, job_uuid=job.uuid)
        _own_account(job, self.request.user)
        return accepted(job, shown)


def _own_account(job, user):
    """A job started by ``user`` belongs to the user's account: rendered without reading it."""
    if job.account_id is not None and job.account_id == getattr(user, "account_id", None):
        job.account = user.account


def _jobs_ran_inline():
    """Whether a job started just now has already run (eager Celery, its on-commit dispatch not
    held back by an enclosing transaction)."""
    from ..flows.tasks import run_job

    return bool(run_job.app.conf.task_always_eager) and not transaction.get_connection().in_atomic_block
