from django.apps import AppConfig


class NetworkConfig(AppConfig):
    name = "apps.network"
    label = "network"

    def ready(self):
        from . import cascade, globalconfig  # noqa: F401  (cascade rules, l3Network.* global configs)
        from .flows.host_hook import register

        register()  # hosts (re)create their cluster's L2 bridges when they connect
        from apps.core import rowcache

        from .models import IpRange, L2Network, L3Network

        # flows keep L3s, their ranges and the clusters of their L2s for a second (apps.core.rowcache)
        rowcache.watch(L2Network, L3Network, IpRange, relations=[L2Network.clusters.through],
                       names=["l3-with-dhcp-server", "clusters-of-l2", "ranges-of-l3"])
