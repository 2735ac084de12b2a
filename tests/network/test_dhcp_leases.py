"""The agent's dnsmasq forgets a lease once its MAC is gone from the host (released, or its address
given to another MAC): dnsmasq itself keeps a lease until it expires and meanwhile refuses that
address to any other MAC. Real dnsmasq in a namespace on a real bridge, driven in process (no
guest: the lease file is what dnsmasq loads and writes; the migration test, tests/migration,
watches a guest lease through it)."""
import os
import shutil
import time
import uuid

import pytest

from hostagent.backends.network_linux import LinuxNetworkMixin
from tests.network.conftest import test_interface, test_subnet  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("dnsmasq"),
                                reason="bridges, namespaces and dnsmasq need root and dnsmasq")
OLD, NEW = "fa:16:3e:00:00:01", "fa:16:3e:00:00:02"


class Network(LinuxNetworkMixin):
    def __init__(self, state_dir):
        self.config = {"state_dir": str(state_dir)}


def test_a_released_or_reassigned_macs_lease_is_dropped_and_dnsmasq_keeps_serving(
        tmp_path, test_interface, test_subnet):  # noqa: F811
    net, l3 = Network(tmp_path / "state"), str(uuid.uuid4())
    address = f"{test_subnet}.20"

    def apply(entries):
        return net.dhcp_apply(None, {
            "l3_uuid": l3, "bridge": f"br_{test_interface}", "physical_interface": test_interface,
            "server_ip": f"{test_subnet}.2", "netmask": "255.255.255.0", "prefix_len": 24,
            "network": f"{test_subnet}.0", "gateway": None, "dns": [], "lease_time": 3600, "entries": entries})

    def dhcp():
        return net.network_state(None, {})["dhcp"][l3]

    directory = tmp_path / "state" / "dhcp" / l3
    directory.mkdir(parents=True)
    (directory / "leases").write_text(f"{int(time.time()) + 3600} {OLD} {address} * *\n")
    try:
        first = apply([{"mac": OLD, "ip": address}])   # dnsmasq starts holding OLD's lease
        assert [lease["mac"] for lease in dhcp()["leases"]] == [OLD]
        second = apply([{"mac": NEW, "ip": address}])  # the address goes to another MAC
        state = dhcp()
        assert state["leases"] == [] and [e["mac"] for e in state["entries"]] == [NEW]
        assert state["running"] and second["pid"] != first["pid"]

        # a lease of a MAC released (the VM left the host)
        with open(directory / "leases", "a", encoding="utf-8") as fh:
            fh.write(f"{int(time.time()) + 3600} {NEW} {address} * *\n")
        assert net.dhcp_release(None, {"l3_uuid": l3, "macs": [NEW]}) == {"l3_uuid": l3, "released": 1}
        state = dhcp()
        assert state["leases"] == [] and state["entries"] == [] and state["running"]
    finally:
        net.network_cleanup(None, {})
