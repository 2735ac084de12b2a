from django.apps import AppConfig


class ComputeConfig(AppConfig):
    name = "apps.compute"
    label = "compute"

    def ready(self):
        from . import cascade, globalconfig  # noqa: F401  (cascade rules, host.* global configs)
