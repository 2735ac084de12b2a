"""The VM page's Migrate action: a form with the destination host, picked among the hosts the API
says the VM could move to now (GET .../migration-candidates/), or left empty for the allocator. The POST
is the API's migrate, its answer (job, or refusal) shown as for any action."""
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from apps.core.ui.apicall import call
from apps.core.ui.edit import ActionView

from .migration_api import MigrateSerializer


class MigrateForm(MigrateSerializer):
    """What the form asks: the destination only (the dry run is the API's)."""

    host_uuid = serializers.CharField(required=False, allow_blank=True, label=gettext_lazy("Destination host"),
                                      help_text=gettext_lazy("Leave it empty to let the allocator choose"))
    dry_run = None


class VmActionView(ActionView):
    """The generic action view; Migrate's host picker lists the API's candidates."""

    def choices(self):
        found = super().choices()
        if self.kwargs.get("action") == "migrate":
            answer = call(self.request, "GET", f"{self.detail_path(self.kwargs['uuid'])}migration-candidates/")
            hosts = answer.data.get("hosts", []) if answer.ok else []
            found["host_uuid"] = [(h["uuid"], h["name"]) for h in hosts]   # the form's empty choice: the allocator
        return found
