from .deploy import ADD_KVM_HOST, DELETE_KVM_HOST
from .hosts import ADD_HOST
from .reconnect import RECONNECT_HOST

__all__ = ["ADD_HOST", "ADD_KVM_HOST", "DELETE_KVM_HOST", "RECONNECT_HOST"]
