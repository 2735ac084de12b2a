"""Bridges and DHCP in memory, for the sim backend (faults and latency apply as to every path)."""
from ..errors import AgentFailure
from .network_base import dhcp_names, entries_list


class SimNetworkMixin:
    def _net(self, host_uuid):
        self._host(host_uuid)  # 404 HOST_NOT_FOUND for an unknown host
        store = self.__dict__.setdefault("_network_state", {})
        return store.setdefault(host_uuid, {"bridges": {}, "dhcp": {}})

    def bridge_ensure(self, host_uuid, spec):
        net = self._net(host_uuid)
        bridge, iface = spec["bridge"], spec["physical_interface"]
        for other, other_iface in net["bridges"].items():
            if other_iface == iface and other != bridge:
                raise AgentFailure(409, "INTERFACE_IN_USE", f"{iface} is already a port of bridge {other}",
                                   {"physical_interface": iface, "bridge": other})
        created = bridge not in net["bridges"]
        net["bridges"][bridge] = iface
        return {"bridge": bridge, "physical_interface": iface, "created": created}

    def bridge_delete(self, host_uuid, spec):
        net = self._net(host_uuid)
        bridge = spec["bridge"]
        dhcp_deleted = [l3 for l3, d in net["dhcp"].items() if d["bridge"] == bridge]
        for l3 in dhcp_deleted:
            del net["dhcp"][l3]
        deleted = net["bridges"].pop(bridge, None) is not None
        return {"bridge": bridge, "deleted": deleted, "dhcp_deleted": dhcp_deleted}

    def network_cleanup(self, host_uuid, spec):
        net = self._net(host_uuid)
        answer = {"dhcp_deleted": sorted(net["dhcp"]), "bridges_deleted": sorted(net["bridges"]), "bridges_left": []}
        net["dhcp"].clear()
        net["bridges"].clear()
        return answer

    def network_state(self, host_uuid, spec):
        net = self._net(host_uuid)
        dhcp = {}
        for l3, d in net["dhcp"].items():
            dhcp[l3] = {**{k: v for k, v in d.items() if k != "entries"}, "running": True,
                        "entries": entries_list(d["entries"])}
        return {"bridges": dict(net["bridges"]), "dhcp": dhcp}

    def dhcp_apply(self, host_uuid, spec):
        net = self._net(host_uuid)
        if spec.get("physical_interface"):
            self.bridge_ensure(host_uuid, {"bridge": spec["bridge"], "physical_interface": spec["physical_interface"]})
        if spec["bridge"] not in net["bridges"]:
            raise AgentFailure(409, "BRIDGE_NOT_FOUND", f"bridge {spec['bridge']} does not exist on this host "
                               "(ensure it first: /v1/network/bridge/ensure)", {"bridge": spec["bridge"]})
        current = net["dhcp"].setdefault(spec["l3_uuid"], {"entries": {}})
        entries = current["entries"]
        for key in ("bridge", "server_ip", "netmask", "gateway", "dns", "lease_time"):
            current[key] = spec[key]
        for entry in spec["entries"]:
            for mac in [m for m, e in entries.items() if e["ip"] == entry["ip"]]:
                del entries[mac]  # an IP belongs to one MAC
            entries[entry["mac"]] = entry
        namespace = dhcp_names(spec["l3_uuid"])[0]
        return {"l3_uuid": spec["l3_uuid"], "namespace": namespace, "server_ip": spec["server_ip"],
                "entries": len(entries)}

    def dhcp_release(self, host_uuid, spec):
        net = self._net(host_uuid)
        current = net["dhcp"].get(spec["l3_uuid"])
        released = 0
        if current is not None:
            for mac in spec["macs"]:
                released += current["entries"].pop(mac, None) is not None
        return {"l3_uuid": spec["l3_uuid"], "released": released}

    def dhcp_delete(self, host_uuid, spec):
        net = self._net(host_uuid)
        deleted = net["dhcp"].pop(spec["l3_uuid"], None) is not None
        return {"l3_uuid": spec["l3_uuid"], "deleted": deleted}
