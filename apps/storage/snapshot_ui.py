"""Console pages of volume snapshots and VM snapshots (apps.core.ui), and the Snapshot action of
the VM page (its form: a name)."""
from django.utils.translation import gettext_lazy as _

from apps.core.ui import Action, Related, ResourcePages
from apps.core.ui.cells import Cell

from .snapshot_serializers import VmSnapshotSerializer
from .snapshot_views import VolumeSnapshotGroupViewSet, VolumeSnapshotViewSet

SNAPSHOT_LABELS = {"volume_uuid": _("Volume"), "parent_uuid": _("Parent"), "group_uuid": _("VM snapshot"),
                   "depth": _("Tree"), "latest": _("Current"), "live": _("Live"), "size": _("Virtual size"),
                   "actual_size": _("Actual size"), "format": _("Format"), "install_path": _("Install path"),
                   "vm_instance_uuid": _("VM"), "snapshot_uuids": _("Snapshots")}


def tree_cell(depth, row):
    """A snapshot's place in its volume's tree: indented under its parent."""
    depth = int(depth or 0)
    return Cell("\u2003" * depth + ("\u2514 " if depth else "\u25cf "), title=str(_("levels below the first snapshot")))


class VolumeSnapshotPages(ResourcePages):
    viewset = VolumeSnapshotViewSet
    menu = (_("Storage"), _("Volume snapshots"))
    order = 34
    columns = ["depth", "name", "volume_uuid", "status", "latest", "live", "group_uuid", "created_at"]
    fields = ["name", "description", "volume_uuid"]
    edit_fields = ["name", "description"]
    options = {"volume_uuid": "volumes"}
    links = {"volume_uuid": "volumes", "parent_uuid": "volume-snapshots", "group_uuid": "volume-snapshot-groups"}
    actions = [Action("revert", _("Revert"), destructive=True), Action("delete", destructive=True)]
    cells = {"depth": tree_cell}
    labels = SNAPSHOT_LABELS
    default_ordering = "created_at"
    after_create = "job"
    search_example = "volume_uuid=<uuid>"


class VolumeSnapshotGroupPages(ResourcePages):
    viewset = VolumeSnapshotGroupViewSet
    menu = (_("Storage"), _("VM snapshots"))
    order = 35
    columns = ["name", "vm_instance_uuid", "status", "created_at"]
    fields = ["name", "description", "vm_instance_uuid"]
    edit_fields = ["name", "description"]
    links = {"vm_instance_uuid": "vm-instances"}
    actions = [Action("revert", _("Revert"), destructive=True), Action("delete", destructive=True)]
    related = [Related("volume-snapshots", "group_uuid", label=_("Volume snapshots"))]
    labels = SNAPSHOT_LABELS
    after_create = "job"
    search_example = "status=Ready"


def add_console_actions(volume_pages=None, vm_pages=None):
    """The volume page lists its snapshots; the VM page gets "Snapshot" (all its volumes at once)."""
    if volume_pages is not None and not any(r.basename == "volume-snapshots" for r in volume_pages.related):
        volume_pages.related = [*volume_pages.related,
                                Related("volume-snapshots", "volume_uuid", label=_("Snapshots"))]
    if vm_pages is not None and vm_pages.action("snapshot") is None:
        vm_pages.actions = [*vm_pages.actions, Action("snapshot", _("Snapshot"), body=VmSnapshotSerializer)]
