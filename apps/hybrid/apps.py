from django.apps import AppConfig


class HybridConfig(AppConfig):
    """Alibaba Cloud next to the local data centre (the hybrid edition): AccessKeys, regions as data
    centres with their identity zones, ECS instances; driven through Alibaba's own SDKs."""

    name = "apps.hybrid"
    label = "hybrid"

    def ready(self):
        # cascade rules, hybrid.* global configs, the beat task, and every flow (workers look flows up by name)
        from . import cascade, flows, globalconfig, tasks  # noqa: F401
        # the storage pages extend ui.py's (ui.py does not import them: autodiscovery finds ui only)
        from . import storage_pages  # noqa: F401
        # the console pages of Express Connect and VPN (they build on ui.py's, which the console discovers)
        from . import links_pages  # noqa: F401
        # the network's console pages (beside ui.py, which autodiscovery imports, and importing it)
        from . import network_pages  # noqa: F401
        from . import oneview

        oneview.register()   # ECS instances in the VM list, VM actions and creates on them (H12)
