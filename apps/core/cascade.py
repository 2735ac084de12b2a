"""Cascade delete (P6): declared rules, a plan (the dry-run), and a delete flow.

    cascade(Zone).deletes(Cluster, via="zone")       # deleting a zone deletes its clusters
    cascade(Cluster).refuses(Host, via="cluster")    # a cluster with hosts cannot be deleted

``plan(obj)`` walks the rules and returns what would be deleted (children first)
and what blocks the delete; the ``cascade-delete`` flow runs the same plan.
"""
from collections import defaultdict

from django.db import transaction
from django.db.models import ProtectedError, RestrictedError

from .errors import Conflict, ResourceBusy
from .flows import DbStep, Flow, NoRollback, RemoteStep
from .models import resource_model

RULES = defaultdict(list)
BEFORE_DELETE = defaultdict(list)  # model -> [hook(obj) -> dict or None]
BEFORE_DELETE_LAST = defaultdict(list)  # the same, run after the others


class Rule:
    def __init__(self, child, via, action):
        self.child, self.via, self.action = child, via, action

    def children(self, parent):
        return self.child.objects.filter(**{self.via: parent}).order_by("id")


class cascade:  # noqa: N801 - reads as a declaration
    def __init__(self, parent):
        self.parent = parent

    def deletes(self, child, *, via):
        RULES[self.parent].append(Rule(child, via, "delete"))
        return self

    def refuses(self, child, *, via):
        RULES[self.parent].append(Rule(child, via, "refuse"))
        return self


def before_delete(model, hook, *, last=False):
    """Have ``hook(obj)`` run before the cascade deletes an ``obj`` of ``model``, as a child or as the
    object deleted: clean-up on hosts that the rows alone cannot do (files, daemons). It runs outside
    any transaction and must not raise for an unreachable host; what it answers (a dict, or None
    when there was nothing to do) lands in the job's ``result.cleanup`` under the object's uuid.
    ``last``: after every other hook of ``model`` (a KVM host's agent is undeployed once the other
    apps' hooks have used it)."""
    hooks = BEFORE_DELETE_LAST if last else BEFORE_DELETE
    if hook not in hooks[model]:
        hooks[model].append(hook)


def clean_up(obj):
    """Run ``obj``'s before-delete hooks (those registered ``last`` at the end); their answers
    merged, or None."""
    outcome = {}
    for hook in BEFORE_DELETE.get(type(obj), []) + BEFORE_DELETE_LAST.get(type(obj), []):
        outcome.update(hook(obj) or {})
    return outcome or None


def _ref(obj):
    return {"resource_type": obj.resource_type(), "uuid": str(obj.uuid), "name": obj.name}


def _named(refs, limit=3):
    """'VmInstance vm1, Volume root-vm1 and 2 more' for a message."""
    names = [f"{ref['resource_type']} {ref['name']}" for ref in refs[:limit]]
    more = len(refs) - len(names)
    return ", ".join(names) + (f" and {more} more" if more else "")


def plan(obj):
    """``{"deletes": [...children first, obj last], "blockers": [...]}``."""
    deletes, blockers = [], []

    def walk(node):
        for rule in RULES.get(type(node), []):
            for child in rule.children(node):
                if rule.action == "refuse":
                    blockers.append({**_ref(child), "reason": f"{child.resource_type()} belongs to "
                                     f"{node.resource_type()} {node.name}; delete it first"})
                else:
                    walk(child)
        deletes.append(node)

    walk(obj)
    return {"deletes": [_ref(o) for o in deletes], "blockers": blockers, "_objects": deletes}


def dry_run(obj):
    result = plan(obj)
    result.pop("_objects")
    result["dry_run"] = True
    result["can_delete"] = not result["blockers"]
    return result


def check_blockers(obj):
    result = plan(obj)
    if result["blockers"]:
        raise Conflict(
            f"cannot delete {obj.resource_type()} {obj.name}: it still has {_named(result['blockers'])}; "
            "delete them first",
            code="HAS_DEPENDENTS",
            details={"blockers": result["blockers"]},
        )
    return result


def delete_row(obj):
    """``obj.delete()``; a row that still protects it (one no rule names, or one made since the
    plan was checked) is a 409 naming it, not the database layer's error."""
    try:
        obj.delete()
    except (ProtectedError, RestrictedError) as exc:
        rows = list(getattr(exc, "protected_objects", None) or getattr(exc, "restricted_objects", None) or [])
        blockers = [{"resource_type": row.resource_type() if hasattr(row, "resource_type") else type(row).__name__,
                     "uuid": str(getattr(row, "uuid", row.pk)), "name": str(getattr(row, "name", row.pk))}
                    for row in rows[:50]]
        raise Conflict(
            f"cannot delete {obj.resource_type()} {obj.name}: it still has {_named(blockers)}; delete them first",
            code="HAS_DEPENDENTS", details={"blockers": blockers},
        ) from None


def _load(ctx):
    model = resource_model(ctx.args["resource_type"])
    return model.objects.filter(uuid=ctx.args["uuid"]).first()


class ClaimChildren(DbStep):
    """Check nothing blocks the delete and mark every child busy with this job."""

    def run(self, ctx):
        root = _load(ctx)
        if root is None:
            ctx.claimed = []
            return
        result = check_blockers(root)
        ctx.claimed = []
        for child in result["_objects"][:-1]:
            try:
                child.mark_busy(ctx.job.uuid)
            except ResourceBusy as exc:
                raise ResourceBusy(f"cannot delete {root.resource_type()} {root.name}: {exc.message}",
                                   details=exc.details) from None
            ctx.claimed.append([child.resource_type(), str(child.uuid)])

    def rollback(self, ctx):
        for resource_type, uuid in ctx.get("claimed", []):
            resource_model(resource_type).release_busy(uuid, ctx.job.uuid)


class DeleteChildren(RemoteStep, NoRollback):
    """Delete children deepest first, one transaction each: a failure leaves the
    rest in place (and the parent), and running the delete again finishes it."""

    def run(self, ctx):
        deleted = ctx.get("deleted", [])
        for resource_type, uuid in ctx.get("claimed", []):
            model = resource_model(resource_type)
            child = model.objects.filter(uuid=uuid).first()
            if child is not None:
                # outside the transaction: e.g. a KVM host's agent is undeployed over SSH
                _record_clean_up(ctx, uuid, clean_up(child))
            with transaction.atomic():
                child = model.objects.filter(uuid=uuid).first()
                if child is not None:
                    delete_row(child)
            deleted.append({"resource_type": resource_type, "uuid": uuid})
            ctx.deleted = deleted


def _record_clean_up(ctx, uuid, outcome):
    if outcome:
        ctx.cleanup = {**ctx.get("cleanup", {}), uuid: outcome}


def clean_up_root(ctx):
    """The deleted object's clean-up (once per job: a flow may run it in an earlier step, before
    its own steps that need what the clean-up still uses); its answer."""
    if ctx.get("root_cleaned"):
        return ctx.get("cleanup", {}).get(ctx.args["uuid"])
    root = _load(ctx)
    outcome = clean_up(root) if root is not None else None
    _record_clean_up(ctx, ctx.args["uuid"], outcome)
    ctx.root_cleaned = True
    return outcome


class DeleteResource(RemoteStep, NoRollback):
    def run(self, ctx):
        clean_up_root(ctx)
        root = _load(ctx)
        if root is not None:
            delete_row(root)
        ctx.result = {"deleted": ctx.get("deleted", []) + [
            {"resource_type": ctx.args["resource_type"], "uuid": ctx.args["uuid"]}]}
        if ctx.get("cleanup"):
            ctx.result["cleanup"] = ctx.cleanup  # what children's cleanup_before_delete reported


CASCADE_DELETE = Flow("cascade-delete", [ClaimChildren, DeleteChildren, DeleteResource], action="delete")
