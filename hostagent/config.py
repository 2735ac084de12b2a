"""Configuration: command line, optionally on top of a JSON file with the same keys."""
import argparse
import json

DEFAULTS = {
    "backend": "sim",
    "listen": "127.0.0.1",
    "port": 7070,
    "host_uuid": None,
    "secret": None,          # prefer secret_file; never logged
    "secret_file": None,
    "admin_token": None,     # sim admin API; never logged
    "admin_token_file": None,
    "latency": 0.0,
    "libvirt_uri": "qemu:///system",
    "domain_type": "qemu",
    "state_dir": "/var/lib/cloudportal-agent",  # libvirt backend: DHCP (dnsmasq) files
    "vnc_listen": None,      # libvirt: VNC listen address of the domains; None = the agent's own `listen`
    "portal_url": None,
    "log_level": "INFO",
    "workers": 16,           # threads for blocking operations (libvirt, qemu-img, ip); more wait in a queue
    "read_workers": 4,       # threads for reads (states, facts, capacity, VNC port, network state)
    "idempotency_max_entries": 250000,
    "sample_interval": 10.0,  # seconds between samples for /metrics; the portal's connect may change it
    "libvirt_remote_uri": None,  # how other hosts' agents reach this libvirtd for a live migration
}


def parser():
    p = argparse.ArgumentParser(
        prog="python -m hostagent",
        description="CloudPortal host agent: HTTP JSON service on a compute node (docs/agent-protocol.md).")
    p.add_argument("--config", help="JSON file with any of the keys below (command line wins), "
                                    "e.g. /etc/cloudportal-agent.json")
    p.add_argument("--backend", choices=["sim", "libvirt"], help="default: sim")
    p.add_argument("--listen", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 7070)")
    p.add_argument("--host-uuid", dest="host_uuid", help="libvirt backend: this host's uuid")
    p.add_argument("--secret-file", dest="secret_file", help="libvirt backend: file holding the host's secret")
    p.add_argument("--admin-token", dest="admin_token", help="sim backend: token for the /sim admin API")
    p.add_argument("--admin-token-file", dest="admin_token_file", help="sim backend: file holding the admin token")
    p.add_argument("--latency", type=float, help="sim backend: seconds added to every /v1/ request (default 0)")
    p.add_argument("--libvirt-uri", dest="libvirt_uri", help="libvirt backend: default qemu:///system")
    p.add_argument("--domain-type", dest="domain_type", choices=["qemu", "kvm"],
                   help="libvirt backend: <domain type=...> (default qemu)")
    p.add_argument("--state-dir", dest="state_dir",
                   help="libvirt backend: where DHCP (dnsmasq) files live (default /var/lib/cloudportal-agent)")
    p.add_argument("--vnc-listen", dest="vnc_listen",
                   help="libvirt backend: address the VMs' VNC servers listen on, reached by the portal's "
                        "console proxy (default: the agent's --listen address)")
    p.add_argument("--portal-url", dest="portal_url", help="where to send events before the portal connects")
    p.add_argument("--sample-interval", dest="sample_interval", type=float,
                   help="seconds between two samples of the host and its VMs for /metrics (default 10; "
                        "the portal sends its monitoring.sampleInterval when it connects)")
    p.add_argument("--log-level", dest="log_level", help="DEBUG, INFO (default), WARNING")
    p.add_argument("--libvirt-remote-uri", dest="libvirt_remote_uri",
                   help="libvirt backend: the URI other hosts' agents open to live-migrate a VM here "
                        "(reported in the host's facts; default qemu+tcp://<management IP>/system)")
    return p


def _read_secret(path):
    with open(path, encoding="utf-8") as fh:
        return fh.read().strip()


def load(argv=None):
    args = parser().parse_args(argv)
    config = dict(DEFAULTS)
    if args.config:
        with open(args.config, encoding="utf-8") as fh:
            from_file = json.load(fh)
        if not isinstance(from_file, dict):
            raise SystemExit(f"{args.config}: expected a JSON object")
        unknown = set(from_file) - set(DEFAULTS)
        if unknown:
            raise SystemExit(f"{args.config}: unknown keys {', '.join(sorted(unknown))}")
        config.update(from_file)
    for key, value in vars(args).items():
        if key != "config" and value is not None:
            config[key] = value
    if config["secret_file"] and not config["secret"]:
        config["secret"] = _read_secret(config["secret_file"])
    if config["admin_token_file"] and not config["admin_token"]:
        config["admin_token"] = _read_secret(config["admin_token_file"])
    from .sampling import check_interval
    try:
        config["sample_interval"] = check_interval(config["sample_interval"])
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    if config["backend"] not in ("sim", "libvirt"):
        raise SystemExit("backend must be sim or libvirt")
    if config["backend"] == "libvirt" and not (config["host_uuid"] and config["secret"]):
        raise SystemExit("the libvirt backend needs --host-uuid and --secret-file (or host_uuid/secret_file in --config)")
    return config


def redacted(config):
    return {k: ("***" if k in ("secret", "admin_token") and v else v) for k, v in config.items()}
