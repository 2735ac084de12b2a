from django.apps import AppConfig


class StorageConfig(AppConfig):
    name = "apps.storage"
    label = "storage"

    def ready(self):
        from . import cascade, globalconfig  # noqa: F401  (cascade rules, image.* configs)
        from .hooks import register

        register()   # local primary storage capacity when a host connects; caches removed on delete
