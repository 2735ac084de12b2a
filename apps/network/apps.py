from django.apps import AppConfig


class NetworkConfig(AppConfig):
    name = "apps.network"
    label = "network"

    def ready(self):
        from . import cascade, globalconfig  # noqa: F401  (cascade rules, l3Network.* global configs)
        from .flows.host_hook import register

        register()  # hosts (re)create their cluster's L2 bridges when they connect
