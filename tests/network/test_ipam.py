"""IPAM: strategies, reserved addresses, static IPs, exhaustion, release, dry run, concurrency."""
import ipaddress
import random
import threading
import uuid

import pytest
from django.db import connection, connections

from apps.core.errors import CloudPortalError
from apps.network import ipam
from apps.network.flows.vm_steps import allocate_nic_ips, clusters_for_l3_networks, plan_nic_ips
from apps.network.models import IpRange, L2Network, L3Network, UsedIp

VM = "11111111-1111-4111-8111-111111111111"


def make_l3(zone, start="10.0.0.10", end="10.0.0.20", gateway="10.0.0.1", netmask="255.255.255.0", dhcp=False,
            strategy=None):
    l2 = L2Network.objects.create(name="l2", zone=zone, physical_interface="eth0")
    l3 = L3Network.objects.create(name="l3", l2_network=l2, dhcp=dhcp)
    add_range(l3, start, end, gateway, netmask)
    if strategy:
        from apps.core.models import ResourceConfig

        ResourceConfig.objects.create(category="l3Network", name="ipAllocateStrategy", resource_type="L3Network",
                                      resource_uuid=l3.uuid, value=strategy)
    return l3


def add_range(l3, start, end, gateway="10.0.0.1", netmask="255.255.255.0"):
    network = ipaddress.IPv4Network(f"{start}/{netmask}", strict=False)
    return IpRange.objects.create(l3_network=l3, name=f"{start}-{end}", start_ip=start, end_ip=end, netmask=netmask,
                                  gateway=gateway, network_cidr=str(network), start_int=ipam.ip_int(start),
                                  end_int=ipam.ip_int(end))


def drain(l3, **kwargs):
    got = []
    while True:
        try:
            got.append(ipam.allocate(l3, owner_uuid=VM, **kwargs).ip)
        except CloudPortalError as exc:
            assert exc.code == "NO_AVAILABLE_IP" and exc.status == 422
            return got


@pytest.mark.django_db
def test_first_available_gives_the_lowest_free_address(zone):
    l3 = make_l3(zone, strategy="first-available")
    assert [ipam.allocate(l3, owner_uuid=VM).ip for _ in range(3)] == ["10.0.0.10", "10.0.0.11", "10.0.0.12"]
    ipam.release(owner_uuid=VM, l3_network_uuids=[l3.uuid]) and None
    middle = ipam.allocate(l3, ip="10.0.0.10", owner_uuid=VM)
    assert ipam.allocate(l3, owner_uuid=VM).ip == "10.0.0.11"
    ipam.release([middle.uuid])
    assert ipam.allocate(l3, owner_uuid=VM).ip == "10.0.0.10"  # a released address is the lowest again


@pytest.mark.django_db
def test_strategy_from_global_config_and_l3_override(admin_client, zone):
    l3 = make_l3(zone)
    assert admin_client.get("/api/v1/global-configs/l3Network/ipAllocateStrategy/").json()["value"] == "random"
    response = admin_client.put("/api/v1/global-configs/l3Network/ipAllocateStrategy/", {"value": "sequential"},
                                format="json")
    assert response.status_code == 400
    assert admin_client.put("/api/v1/global-configs/l3Network/ipAllocateStrategy/", {"value": "first-available"},
                            format="json").status_code == 200
    assert ipam.strategy_for(l3) == "first-available"
    url = f"/api/v1/global-configs/l3Network/ipAllocateStrategy/resources/{l3.uuid}/"
    assert admin_client.put(url, {"value": "random"}, format="json").status_code == 200
    assert ipam.strategy_for(l3) == "random"
    assert admin_client.delete(url).status_code == 204
    assert ipam.allocate(l3, owner_uuid=VM).ip == "10.0.0.10"


@pytest.mark.django_db
def test_random_stays_in_range_and_never_hands_out_gateway_network_or_broadcast(zone):
    # a range covering the whole /28, gateway inside it
    l3 = make_l3(zone, start="10.0.0.0", end="10.0.0.15", gateway="10.0.0.1", netmask="255.255.255.240")
    got = drain(l3)
    assert sorted(got, key=ipam.ip_int) == [f"10.0.0.{i}" for i in range(2, 15)]
    assert len(set(got)) == len(got)
    assert got != sorted(got, key=ipam.ip_int)  # random order (13! orders, one of them sorted)


@pytest.mark.django_db
def test_dhcp_server_address_is_taken_first_and_never_handed_out(zone):
    l3 = make_l3(zone, start="10.0.0.10", end="10.0.0.14", dhcp=True)
    nics = allocate_nic_ips(VM, [str(l3.uuid)])
    assert l3.dhcp_server_ip() == "10.0.0.10"
    got = [nics[0]["ip"]] + drain(l3)
    assert sorted(got) == ["10.0.0.11", "10.0.0.12", "10.0.0.13", "10.0.0.14"]
    with pytest.raises(CloudPortalError) as exc:
        ipam.allocate(l3, ip="10.0.0.10", owner_uuid=VM)
    assert exc.value.code == "IP_IN_USE" and exc.value.status == 409


@pytest.mark.django_db
def test_static_ip_ok_in_use_outside_and_reserved(zone):
    l3 = make_l3(zone, start="10.0.0.0", end="10.0.0.255")
    assert ipam.allocate(l3, ip="10.0.0.77", owner_uuid=VM).ip == "10.0.0.77"
    cases = [("10.0.0.77", "IP_IN_USE", 409), ("10.0.1.5", "IP_NOT_IN_RANGE", 400), ("10.0.0.1", "IP_RESERVED", 400),
             ("10.0.0.0", "IP_RESERVED", 400), ("10.0.0.255", "IP_RESERVED", 400), ("nope", "IP_NOT_IN_RANGE", 400)]
    for ip, code, status in cases:
        with pytest.raises(CloudPortalError) as exc:
            ipam.allocate(l3, ip=ip, owner_uuid=VM)
        assert (exc.value.code, exc.value.status) == (code, status), ip
        assert exc.value.message
    assert UsedIp.objects.count() == 1


@pytest.mark.django_db
def test_exhaustion_is_no_available_ip_and_release_gives_the_address_back(zone):
    l3 = make_l3(zone, start="10.0.0.10", end="10.0.0.12")
    rows = [ipam.allocate(l3, owner_uuid=VM) for _ in range(3)]
    with pytest.raises(CloudPortalError) as exc:
        allocate_nic_ips(VM, [str(l3.uuid)])
    assert exc.value.code == "NO_AVAILABLE_IP" and exc.value.status == 422
    assert ipam.release([rows[1].uuid]) == 1
    assert ipam.release([rows[1].uuid]) == 0  # idempotent
    assert ipam.allocate(l3, owner_uuid=VM).ip == rows[1].ip


@pytest.mark.django_db
def test_allocate_nic_ips_is_all_or_nothing_with_unique_macs(zone):
    good = make_l3(zone)
    full = L3Network.objects.create(name="full", l2_network=good.l2_network, dhcp=False)
    add_range(full, "10.0.0.30", "10.0.0.30")
    ipam.allocate(full, owner_uuid=VM)
    with pytest.raises(CloudPortalError):
        allocate_nic_ips("22222222-2222-4222-8222-222222222222", [str(good.uuid), str(full.uuid)])
    assert not UsedIp.objects.filter(owner_uuid="22222222-2222-4222-8222-222222222222").exists()
    second = L3Network.objects.create(name="second", l2_network=good.l2_network, dhcp=False)
    add_range(second, "10.0.0.40", "10.0.0.50")
    nics = allocate_nic_ips(VM, [str(good.uuid), str(second.uuid)], {str(second.uuid): "10.0.0.45"})
    assert [n["device_id"] for n in nics] == [0, 1] and nics[1]["ip"] == "10.0.0.45"
    assert nics[0]["bridge"] == "br_eth0" and nics[0]["netmask"] == "255.255.255.0"
    assert nics[0]["gateway"] == "10.0.0.1"
    assert all(n["mac"].startswith("fa:") and len(n["mac"]) == 17 for n in nics)
    assert nics[0]["mac"] != nics[1]["mac"]
    assert str(UsedIp.objects.get(uuid=nics[0]["used_ip_uuid"]).owner_uuid) == VM


@pytest.mark.django_db
def test_a_mac_collision_draws_a_new_mac(zone, monkeypatch):
    l3 = make_l3(zone)
    ipam.allocate(l3, owner_uuid=VM, mac="fa:00:00:00:00:01")
    macs = iter(["fa:00:00:00:00:01", "fa:00:00:00:00:02"])
    monkeypatch.setattr(ipam, "generate_mac", lambda: next(macs))
    assert ipam.allocate(l3, owner_uuid=VM, with_mac=True).mac == "fa:00:00:00:00:02"
    with pytest.raises(CloudPortalError) as exc:
        ipam.allocate(l3, owner_uuid=VM, mac="fa:00:00:00:00:02")
    assert exc.value.code == "MAC_IN_USE"


@pytest.mark.django_db
def test_dry_run_reserves_nothing_and_reports_errors(zone):
    l3 = make_l3(zone, start="10.0.0.10", end="10.0.0.11", dhcp=True, strategy="first-available")
    assert plan_nic_ips([l3.uuid]) == [{"l3_network_uuid": str(l3.uuid), "ip": "10.0.0.11"}]
    assert not UsedIp.objects.exists()
    with pytest.raises(CloudPortalError) as exc:
        plan_nic_ips([l3.uuid], {str(l3.uuid): "10.0.0.10"})  # the DHCP server will take it
    assert exc.value.code == "IP_IN_USE"
    allocate_nic_ips(VM, [str(l3.uuid)])
    with pytest.raises(CloudPortalError) as exc:
        plan_nic_ips([l3.uuid])
    assert exc.value.code == "NO_AVAILABLE_IP"


@pytest.mark.django_db
def test_clusters_an_l3_is_reachable_from(zone):
    from apps.infra.models import Cluster

    l3 = make_l3(zone)
    c1, c2 = (Cluster.objects.create(name=n, zone=zone) for n in ("c1", "c2"))
    assert clusters_for_l3_networks([l3.uuid]) == []
    l3.l2_network.clusters.add(c1, c2)
    other_l2 = L2Network.objects.create(name="o", zone=zone, physical_interface="eth1")
    other = L3Network.objects.create(name="o", l2_network=other_l2)
    other_l2.clusters.add(c2)
    assert sorted(clusters_for_l3_networks([l3.uuid])) == sorted([str(c1.uuid), str(c2.uuid)])
    assert clusters_for_l3_networks([l3.uuid, other.uuid]) == [str(c2.uuid)]


def allocate_at_once(l3, threads_count):
    """``threads_count`` threads, each with its own database connection, allocate from ``l3`` at
    the same moment: (addresses handed out, error codes)."""
    barrier = threading.Barrier(threads_count)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(ipam.allocate(l3, owner_uuid=str(uuid.uuid4()), with_mac=True).ip)
        except CloudPortalError as exc:
            errors.append(exc.code)
        except Exception as exc:  # noqa: BLE001 - any other failure fails the test
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(threads_count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results, errors


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("strategy", ["random", "first-available"])
def test_concurrent_allocation_never_hands_out_an_address_twice(zone, strategy):
    """Many threads, each with its own database connection, allocate from a range of 8 addresses at
    once: exactly 8 succeed with 8 distinct addresses, the others get NO_AVAILABLE_IP."""
    if connection.vendor == "sqlite":
        pytest.skip("concurrency is checked on MariaDB (SQLite serialises writers)")
    l3 = make_l3(zone, start="10.0.0.10", end="10.0.0.17", strategy=strategy)
    threads_count = 24
    results, errors = allocate_at_once(l3, threads_count)
    assert len(results) == 8 and len(set(results)) == 8, (results, errors)
    assert errors == ["NO_AVAILABLE_IP"] * (threads_count - 8)
    assert sorted(results, key=ipam.ip_int) == [f"10.0.0.{i}" for i in range(10, 18)]
    assert UsedIp.objects.filter(l3_network=l3).count() == 8


# --- the random strategy on a large range: blind draws, the used set read only when it fills up ----

def fill(l3, free):
    """Every address of ``l3``'s ranges in use but ``free`` (and the reserved ones)."""
    rows = []
    for ip_range in l3.ip_ranges.all():
        reserved = ipam.reserved_ints(ip_range)
        rows += [UsedIp(l3_network=l3, ip_range=ip_range, ip=ipam.int_ip(v), ip_int=v, owner_type="VmNic",
                        owner_uuid=VM) for v in range(ip_range.start_int, ip_range.end_int + 1)
                 if v not in reserved and ipam.int_ip(v) not in free]
    UsedIp.objects.bulk_create(rows)


def used_set_reads(queries):
    return [q["sql"] for q in queries.captured_queries
            if q["sql"].startswith("SELECT") and f"FROM {connection.ops.quote_name('network_usedip')}" in q["sql"]]


@pytest.mark.django_db
def test_random_on_a_large_range_does_not_read_the_addresses_in_use(zone):
    from django.test.utils import CaptureQueriesContext

    l3 = make_l3(zone, start="10.0.0.2", end="10.0.3.254", netmask="255.255.252.0")
    assert ipam.strategy_for(l3) == "random" and l3.ip_ranges.get().size > ipam.SMALL_RANGE
    for value in range(ipam.ip_int("10.0.1.0"), ipam.ip_int("10.0.1.10")):
        ipam.allocate(l3, ip=ipam.int_ip(value), owner_uuid=VM)
    random.seed(20261127)   # BLIND_COLLISIONS draws in a row on taken addresses would read the used set
    with CaptureQueriesContext(connection) as queries:
        got = [ipam.allocate(l3, owner_uuid=VM, with_mac=True) for _ in range(20)]
    assert used_set_reads(queries) == []
    assert len({row.ip for row in got}) == 20 and UsedIp.objects.filter(l3_network=l3).count() == 30
    assert all(ipam.ip_int("10.0.0.2") <= row.ip_int <= ipam.ip_int("10.0.3.254") and row.ip != "10.0.0.1"
               for row in got)


@pytest.mark.django_db
def test_random_on_a_nearly_full_large_range_finds_the_last_free_address_then_says_no(zone, monkeypatch):
    l3 = make_l3(zone, start="10.0.0.2", end="10.0.1.254", netmask="255.255.254.0")
    fill(l3, free={"10.0.1.77"})
    draws = []
    real = ipam._blind_pick
    monkeypatch.setattr(ipam, "_blind_pick", lambda ranges: draws.append(1) or real(ranges))
    assert ipam.allocate(l3, owner_uuid=VM).ip == "10.0.1.77"
    assert len(draws) <= ipam.BLIND_COLLISIONS + 1   # a few blind draws, then the used set
    with pytest.raises(CloudPortalError) as exc:
        ipam.allocate(l3, owner_uuid=VM)
    assert exc.value.code == "NO_AVAILABLE_IP" and exc.value.status == 422
    assert UsedIp.objects.filter(l3_network=l3, ip="10.0.1.77").count() == 1


@pytest.mark.django_db
def test_a_blind_draw_that_collides_tries_another_address(zone, monkeypatch):
    l3 = make_l3(zone, start="10.0.0.2", end="10.0.3.254", netmask="255.255.252.0")
    taken = ipam.allocate(l3, ip="10.0.2.2", owner_uuid=VM)
    ip_range = l3.ip_ranges.get()
    picks = iter([(ip_range, taken.ip_int), (ip_range, taken.ip_int + 1)])
    monkeypatch.setattr(ipam, "_blind_pick", lambda ranges: next(picks))
    assert ipam.allocate(l3, owner_uuid=VM).ip == "10.0.2.3"


@pytest.mark.django_db
def test_a_free_address_is_taken_without_a_savepoint_and_a_taken_one_still_tells_why(zone, monkeypatch):
    """Inside a flow's transaction: the address's INSERT needs no savepoint of its own when it goes
    in (INSERT IGNORE); a refused one is tried again plainly, in a savepoint, to learn why."""
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext

    l3 = make_l3(zone, start="10.0.0.2", end="10.0.3.254", netmask="255.255.252.0")
    taken = ipam.allocate(l3, ip="10.0.2.2", owner_uuid=VM)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        free = ipam.allocate(l3, ip="10.0.2.9", owner_uuid=VM, with_mac=True)
    assert free.ip == "10.0.2.9" and not [q for q in queries.captured_queries if "SAVEPOINT" in q["sql"]]
    with transaction.atomic():
        with pytest.raises(CloudPortalError) as exc:
            ipam.allocate(l3, ip="10.0.2.2", owner_uuid=VM)
        assert exc.value.code == "IP_IN_USE"
        assert ipam.allocate(l3, ip="10.0.2.10", owner_uuid=VM).ip == "10.0.2.10"   # the transaction goes on
    with pytest.raises(CloudPortalError) as exc:   # a MAC in use is told apart from an address in use
        ipam.allocate(l3, ip="10.0.2.11", owner_uuid=VM, mac=free.mac)
    assert exc.value.code == "MAC_IN_USE"
    assert UsedIp.objects.filter(l3_network=l3).count() == 3 and taken.ip == "10.0.2.2"


@pytest.mark.django_db(transaction=True)
def test_concurrent_blind_allocation_on_a_nearly_full_large_range_never_hands_out_an_address_twice(zone):
    if connection.vendor == "sqlite":
        pytest.skip("concurrency is checked on MariaDB (SQLite serialises writers)")
    l3 = make_l3(zone, start="10.0.0.2", end="10.0.1.254", netmask="255.255.254.0")
    free = {f"10.0.1.{i}" for i in range(10, 18)}
    fill(l3, free)
    threads_count = 24
    results, errors = allocate_at_once(l3, threads_count)
    assert sorted(results) == sorted(free), (results, errors)
    assert errors == ["NO_AVAILABLE_IP"] * (threads_count - 8)
