"""Compute's console pages (apps.core.ui)."""
from django.utils.translation import gettext_lazy as _

from apps.core.ui import ResourcePages

from .views import InstanceOfferingViewSet


class InstanceOfferingPages(ResourcePages):
    viewset = InstanceOfferingViewSet
    menu = (_("Compute"), _("Instance offerings"))
    order = 20
    columns = ["name", "cpu_num", "memory_size", "allocator_strategy", "state", "created_at"]
    fields = ["name", "description", "cpu_num", "memory_size", "cpu_speed", "allocator_strategy", "sort_key"]
    actions = ["enable", "disable", "delete"]
    labels = {"cpu_num": _("CPUs"), "memory_size": _("Memory (bytes)"), "cpu_speed": _("CPU speed (MHz)"),
              "allocator_strategy": _("Allocator strategy"), "sort_key": _("Sort key")}
    search_example = "cpu_num>=2"
