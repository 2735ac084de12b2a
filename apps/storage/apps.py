from django.apps import AppConfig


class StorageConfig(AppConfig):
    name = "apps.storage"
    label = "storage"

    def ready(self):
        from . import cascade, globalconfig, hooks  # noqa: F401  (cascade rules, image.* configs, host connect hook)
