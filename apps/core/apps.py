from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "CloudPortal core"

    def ready(self):
        from . import signals  # noqa: F401  (change log + event hooks)
        from .globalconfig import defaults  # noqa: F401  (core global configs)
