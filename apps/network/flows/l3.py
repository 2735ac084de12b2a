"""Deleting an L3 network: its DHCP servers leave the hosts (best effort), then the cascade."""
from .l2 import _delete_flow

DELETE_L3 = _delete_flow("delete-l3-network")
