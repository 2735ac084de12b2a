"""CloudPortal host agent: an HTTP JSON service on each compute node (docs/agent-protocol.md).

Importing this package (or ``hostagent.client`` / ``hostagent.signing``) needs only the standard
library; the server (``hostagent.server``) needs aiohttp and, for the libvirt backend, libvirt-python.
"""
__version__ = "0.3.1"
