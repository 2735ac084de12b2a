from django.apps import AppConfig


class ComputeConfig(AppConfig):
    name = "apps.compute"
    label = "compute"

    def ready(self):
        # cascade rules, host.* and vm.* global configs, and every flow (workers look flows up by name)
        from . import cascade, flows, globalconfig  # noqa: F401
