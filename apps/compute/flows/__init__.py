from .hosts import ADD_HOST, RECONNECT_HOST

__all__ = ["ADD_HOST", "RECONNECT_HOST"]
