from django.apps import AppConfig


class ComputeConfig(AppConfig):
    name = "apps.compute"
    label = "compute"

    def ready(self):
        from . import cascade  # noqa: F401  (declares the cascade rules)
