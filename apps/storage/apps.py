from django.apps import AppConfig


class StorageConfig(AppConfig):
    name = "apps.storage"
    label = "storage"

    def ready(self):
        from . import cascade, globalconfig  # noqa: F401  (cascade rules, image.* configs)
        from .hooks import register

        register()   # local primary storage capacity when a host connects; caches removed on delete
        from apps.core import rowcache

        from .models import Image, ImageCache, LocalStorageHostRef, PrimaryStorage

        # flows keep these rows for a second (apps.core.rowcache): images, the image caches in use,
        # which primary storages a host has (their capacity is checked by the reserving UPDATE)
        rowcache.watch(Image, names=["image"])
        rowcache.watch(ImageCache, names=["image-cache"])
        rowcache.watch(LocalStorageHostRef, PrimaryStorage, names=["ps-refs-of-host"],
                       relations=[PrimaryStorage.clusters.through])
