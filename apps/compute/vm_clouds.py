"""VMs that run in a public cloud, shown and driven through the VM API (the hybrid edition's "one
view"): the extension point an app above compute fills in, so compute never imports it.

Such a VM is a ``VmInstance`` row of its own ``hypervisor_type`` (no host, ``cloud_zone_id`` set)
that mirrors the cloud app's own row. An app registers a ``VmCloud`` for that hypervisor type in
its ``AppConfig.ready()``; the VM API then hands it what it cannot do itself:

- an action (start, stop, reboot, destroy...) on a row of that type: ``start_action`` starts the
  cloud app's flow and answers its job (the view answers 202 with it, as for a local VM);
- a create placed in one of its zones (``identity_zone_uuid``): ``validate_create`` checks and maps
  the request (image, offering, network), ``start_create`` makes the rows and names their flows.

The local path pays one dict lookup per action and one ``if`` per create: nothing per listed row.
"""


class VmCloud:
    """What a public cloud's app does for the VM API (one per ``hypervisor_type``)."""

    hypervisor_type = ""
    query_relations = ()   # relations of VmInstance the cloud's app adds to the query language (q=)
    actions = ()           # the VM actions it offers (the console shows only these)
    zone_list = ""         # the API list of its zones (basename), for the console's create wizard
    zone_conditions = ()   # q= conditions of the zones a VM can be created in

    def zone_label(self, row):
        """A zone of ``zone_list`` as the create wizard names it."""
        return row["name"]

    def start_action(self, vm, name, body, user):
        """Start the flow of VM action ``name`` (``body``: the request's) on the cloud's instance
        ``vm`` mirrors; its Job. Raises the portal's errors (409 naming the state, 400 for an
        action the cloud does not have)."""
        raise NotImplementedError

    def update(self, vm, data, user):
        """A PATCH of ``vm`` (``data``: its validated name and description): written to the cloud
        app's row, which the VM row mirrors; raises the portal's errors for what it cannot change."""
        raise NotImplementedError

    def find_zone(self, uuid, user):
        """The zone ``uuid`` names among this cloud's zones ``user`` may see, else None."""
        raise NotImplementedError

    def validate_create(self, data, zone, user):
        """Check a VM create placed in ``zone`` and add what ``start_create`` needs to ``data``
        (the cloud's image, instance type and network); raises a ValidationError naming the field."""
        raise NotImplementedError

    def start_create(self, data, account):
        """The ``FlowStart`` list of a validated create placed in one of this cloud's zones (the
        VM rows shown, the cloud's rows held by the jobs)."""
        raise NotImplementedError


# hypervisor_type -> VmCloud; filled in by the apps' ready()
VM_CLOUDS = {}


def register(cloud):
    from .models import VmInstance

    VM_CLOUDS[cloud.hypervisor_type] = cloud
    for relation in cloud.query_relations:
        if relation not in VmInstance.Query.relations:
            VmInstance.Query.relations.append(relation)


def cloud_of(vm):
    """The VmCloud a VM row belongs to, or None for a local VM."""
    return VM_CLOUDS.get(vm.hypervisor_type)


def find_zone(uuid, user):
    """``(cloud, zone)`` for a create's ``identity_zone_uuid``, or ``(None, None)`` when no cloud has it."""
    for cloud in VM_CLOUDS.values():
        zone = cloud.find_zone(uuid, user)
        if zone is not None:
            return cloud, zone
    return None, None
