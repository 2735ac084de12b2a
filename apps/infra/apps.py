from django.apps import AppConfig


class InfraConfig(AppConfig):
    """Zones, clusters and hosts, and the agent the portal drives hosts through."""

    name = "apps.infra"
    label = "infra"

    def ready(self):
        # cascade rules, host.* global configs, and the host flows (workers look flows up by name)
        from . import cascade, flows, globalconfig  # noqa: F401
