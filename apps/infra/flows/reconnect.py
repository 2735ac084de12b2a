"""Reconnecting a host: simulated and KVM hosts alike, a KVM host's agent upgraded on the way."""
from apps.core.flows import Flow

from .deploy import UpgradeAgentIfStale
from .hosts import ConnectAgent, MarkConnected, MarkConnecting, ReviveSimulatedHost, RunConnectHooks

RECONNECT_HOST = Flow("reconnect-host", [MarkConnecting, ReviveSimulatedHost, ConnectAgent, UpgradeAgentIfStale,
                                          RunConnectHooks, MarkConnected], action="reconnect-host", timeout=3600)
