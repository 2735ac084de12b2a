"""Words the pages show for API names: field labels and state values, translated.

A page's own ``labels`` come first; then these; then the serializer field's label. State values
(``Running``, ``Enabled``) stay the API's in data and URLs and are only translated for display.
"""
from django.utils.translation import gettext, gettext_lazy as _, gettext_noop

FIELD_LABELS = {
    "uuid": _("UUID"),
    "name": _("Name"),
    "description": _("Description"),
    "state": _("State"),
    "status": _("Status"),
    "type": _("Type"),
    "created_at": _("Created"),
    "updated_at": _("Updated"),
    "tags": _("Tags"),
    "zone_uuid": _("Zone"),
    "cluster_uuid": _("Cluster"),
    "cluster_uuids": _("Clusters"),
    "host_uuid": _("Host"),
    "account_uuid": _("Account"),
    "url": _("URL"),
    "total_capacity": _("Total capacity"),
    "available_capacity": _("Available capacity"),
    "progress": _("Progress"),
    "error": _("Error"),
    "action": _("Action"),
    "resource_type": _("Resource type"),
    "resource_uuid": _("Resource"),
    "started_at": _("Started"),
    "finished_at": _("Finished"),
}

STATE_WORDS = [gettext_noop(word) for word in (
    "Enabled", "Disabled", "Connected", "Disconnected", "Connecting", "Running", "Stopped", "Starting",
    "Stopping", "Paused", "Destroyed", "Ready", "Downloading", "Deleted", "Pending", "Succeeded", "Failed",
    "Cancelled", "Creating", "Maintenance", "success", "failure", "SystemAdmin", "Normal", "user", "system",
    # a job's steps
    "pending", "running", "succeeded", "failed", "rolling_back", "rolled_back", "rollback_failed", "skipped",
)]


def field_label(name, pages_labels=None, field=None):
    if pages_labels and name in pages_labels:
        return pages_labels[name]
    if name in FIELD_LABELS:
        return FIELD_LABELS[name]
    label = getattr(field, "label", None)
    return label or name.replace("_", " ").capitalize()


def state_word(value):
    """A state value as shown: translated when the catalogue has it."""
    return gettext(value) if isinstance(value, str) and value else value
