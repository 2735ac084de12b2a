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
    "created_at": _("Created at"),
    "updated_at": _("Updated at"),
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

# the values the API shows (literal, so that makemessages finds them); a job's steps in lower case
STATE_WORDS = [
    gettext_noop("Enabled"), gettext_noop("Disabled"), gettext_noop("Connected"),
    gettext_noop("Disconnected"), gettext_noop("Connecting"), gettext_noop("Running"),
    gettext_noop("Stopped"), gettext_noop("Starting"), gettext_noop("Stopping"), gettext_noop("Paused"),
    gettext_noop("Destroyed"), gettext_noop("Ready"), gettext_noop("Downloading"), gettext_noop("Deleted"),
    gettext_noop("Pending"), gettext_noop("Succeeded"), gettext_noop("Failed"), gettext_noop("Cancelled"),
    gettext_noop("Creating"), gettext_noop("Maintenance"), gettext_noop("success"), gettext_noop("failure"),
    gettext_noop("SystemAdmin"), gettext_noop("Normal"), gettext_noop("user"), gettext_noop("system"),
    gettext_noop("pending"), gettext_noop("running"), gettext_noop("succeeded"), gettext_noop("failed"),
    gettext_noop("rolling_back"), gettext_noop("rolled_back"), gettext_noop("rollback_failed"),
    gettext_noop("skipped"),
]


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
