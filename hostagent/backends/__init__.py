"""Backends behind one interface (see base.Backend)."""


def make_backend(config):
    if config["backend"] == "sim":
        from .sim import SimBackend
        return SimBackend(config)
    if config["backend"] == "libvirt":
        from .libvirt_backend import LibvirtBackend
        return LibvirtBackend(config)
    raise ValueError(f"unknown backend {config['backend']!r}")
