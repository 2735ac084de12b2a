from django.apps import AppConfig


class HybridConfig(AppConfig):
    """Alibaba Cloud next to the local data centre (the hybrid edition): AccessKeys, regions as data
    centres with their identity zones, ECS instances; driven through Alibaba's own SDKs."""

    name = "apps.hybrid"
    label = "hybrid"

    def ready(self):
        # cascade rules, hybrid.* global configs, the beat task, and every flow (workers look flows up by name)
        from . import cascade, flows, globalconfig, tasks  # noqa: F401
        from . import oneview

        oneview.register()   # ECS instances in the VM list, VM actions and creates on them (H12)
