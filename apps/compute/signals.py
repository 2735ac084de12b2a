"""Signals other apps hook into (so compute never imports them)."""
from django.dispatch import Signal

# Sent by the connect step of add-host, add-kvm-host and reconnect-host once the agent answered,
# with ``host=<Host>``. Receivers may call the host's agent; an exception fails the connect.
host_connected = Signal()
