"""IP address management: ranges, allocation, release.

Allocation is insert-and-retry: a candidate address is chosen in Python, and the ``UsedIp`` row is
INSERTed with IGNORE (no savepoint needed in the caller's transaction). The unique constraint
(l3_network, ip_int) makes the database the arbiter: when the address is taken (earlier, or by a
concurrent allocator), the row is not inserted; the same INSERT without IGNORE, in a savepoint,
then says why (the address or the MAC) and the next candidate is tried. No lock is held while
choosing, nothing is read-modify-written, and it is correct on MariaDB (InnoDB unique index;
deadlock and lock-wait errors are retried too) as on SQLite. When no candidate is left:
NO_AVAILABLE_IP (422).

Candidates: the random strategy on ranges of more than SMALL_RANGE addresses draws blindly (it
does not read the addresses in use: an L3 may hold tens of thousands); after BLIND_COLLISIONS
taken draws (a range filling up) it reads the used set once and chooses among what is free, as
first-available and small ranges always do, which is how a full L3 is told apart from bad luck.

Never handed out: the network and broadcast addresses of the subnet, the gateway, and anything
already in use (the DHCP server's own address is a UsedIp of owner type DhcpServer).
"""
import ipaddress
import itertools
import random
import secrets

from django.db import IntegrityError, transaction

from apps.core.models import retry_on_lock_conflict

from .errors import IpInUse, IpNotInRange, IpReserved, MacInUse, NoAvailableIp
from .globalconfig import IP_ALLOCATE_STRATEGY
from .models import IpRange, L3Network, UsedIp, UsedIpOwner

MAX_ATTEMPTS = 10_000
RANDOM_PROBES = 32
SMALL_RANGE = 64       # addresses in all an L3's ranges up to which the used set is read at once
BLIND_COLLISIONS = 3   # taken blind draws after which the used set is read


def ip_int(ip):
    return int(ipaddress.IPv4Address(ip))


def int_ip(value):
    return str(ipaddress.IPv4Address(value))


def generate_mac():
    """A locally administered unicast MAC, ZStack style: fa:xx:xx:xx:xx:xx."""
    return "fa:" + ":".join(f"{b:02x}" for b in secrets.token_bytes(5))


def reserved_ints(ip_range):
    network = ip_range.network
    return {int(network.network_address), int(network.broadcast_address), ip_int(ip_range.gateway)}


def strategy_for(l3):
    return IP_ALLOCATE_STRATEGY.value(resource=l3)


def _is_mac_conflict(exc):
    text = str(exc)
    return "usedip_unique_mac" in text or "network_usedip.mac" in text


# --- choosing ------------------------------------------------------------------------------


def _free_count(ip_range, taken):
    blocked = {i for i in taken if ip_range.start_int <= i <= ip_range.end_int}
    blocked |= {i for i in reserved_ints(ip_range) if ip_range.start_int <= i <= ip_range.end_int}
    return ip_range.size - len(blocked)


def _first_free(ip_range, taken, start=None):
    """The lowest free address of the range at or after ``start`` (wrapping around), or None."""
    reserved = reserved_ints(ip_range)
    first = ip_range.start_int if start is None else start
    for value in itertools.chain(range(first, ip_range.end_int + 1), range(ip_range.start_int, first)):
        if value not in taken and value not in reserved:
            return value
    return None


def choose(ranges, taken, strategy):
    """(ip_range, address int) of a free address, or None when every range is full."""
    candidates = [(r, _free_count(r, taken)) for r in ranges]
    candidates = [(r, n) for r, n in candidates if n > 0]
    if not candidates:
        return None
    if strategy == "first-available":
        ip_range = candidates[0][0]
        return ip_range, _first_free(ip_range, taken)
    ip_range = random.choices([r for r, _ in candidates], weights=[n for _, n in candidates])[0]
    reserved = reserved_ints(ip_range)
    for _ in range(RANDOM_PROBES):
        value = random.randint(ip_range.start_int, ip_range.end_int)
        if value not in taken and value not in reserved:
            return ip_range, value
    return ip_range, _first_free(ip_range, taken, random.randint(ip_range.start_int, ip_range.end_int))


def _blind_pick(ranges):
    """(ip_range, address int) drawn at random (ranges weighted by size), not a reserved address,
    without knowing what is in use; None when the draws only found reserved addresses."""
    weights = [r.size for r in ranges]
    for _ in range(RANDOM_PROBES):
        ip_range = random.choices(ranges, weights=weights)[0] if len(ranges) > 1 else ranges[0]
        value = random.randint(ip_range.start_int, ip_range.end_int)
        if value not in reserved_ints(ip_range):
            return ip_range, value
    return None


def _ranges(l3):
    """The L3's ranges by start address (as read up to a second ago)."""
    return IpRange.objects.kept_of_l3(l3.pk)


def _taken(l3):
    return set(UsedIp.objects.filter(l3_network=l3).order_by().values_list("ip_int", flat=True))


def check_static_ip(l3, ip, ranges=None):
    """The range holding ``ip``; IP_NOT_IN_RANGE / IP_RESERVED (400) otherwise."""
    try:
        value = ip_int(ip)
    except ValueError:
        raise IpNotInRange(f"{ip!r} is not an IPv4 address", details={"ip": ip}) from None
    ranges = ranges if ranges is not None else _ranges(l3)
    for ip_range in ranges:  # the gateway is refused as such even when it lies outside the ranges
        if value in reserved_ints(ip_range):
            what = "gateway" if value == ip_int(ip_range.gateway) else "network or broadcast address"
            raise IpReserved(f"{ip} is the {what} of L3 network {l3.name}; it is never handed out",
                             details={"ip": ip, "l3_network_uuid": str(l3.uuid)})
    for ip_range in ranges:
        if ip_range.start_int <= value <= ip_range.end_int:
            return ip_range
    raise IpNotInRange(f"{ip} is not in any IP range of L3 network {l3.name}",
                       details={"ip": ip, "l3_network_uuid": str(l3.uuid)})


# --- allocating and releasing ---------------------------------------------------------------


def allocate(l3, *, owner_type=UsedIpOwner.VM_NIC, owner_uuid=None, ip=None, mac=None, strategy=None,
             with_mac=False, ranges=None):
    """Hand out one address of ``l3`` (``ip``: that one, else by ``strategy`` or the L3's configured
    one) and return its UsedIp. ``with_mac``: also give it a new unique MAC (unless ``mac`` is given).
    ``ranges``: the L3's IpRanges ordered by start, when the caller has them."""
    if isinstance(l3, str):
        l3 = L3Network.objects.get(uuid=l3)
    ranges = _ranges(l3) if ranges is None else ranges
    if not ranges:
        raise NoAvailableIp(f"L3 network {l3.name} has no IP ranges", details={"l3_network_uuid": str(l3.uuid)})
    generated_mac = with_mac and mac is None
    if generated_mac:
        mac = generate_mac()
    static_range = check_static_ip(l3, ip, ranges) if ip is not None else None
    strategy = strategy or strategy_for(l3)
    taken = None   # the used set, once read
    collided = set()   # blind draws found taken
    blind = strategy != "first-available" and sum(r.size for r in ranges) > SMALL_RANGE
    for _ in range(MAX_ATTEMPTS):
        if static_range is not None:
            ip_range, value = static_range, ip_int(ip)
        else:
            picked = None
            if blind and taken is None and len(collided) < BLIND_COLLISIONS:
                picked = _blind_pick(ranges)
                if picked is not None and picked[1] in collided:
                    continue
            if picked is None:
                if taken is None:
                    taken = _taken(l3) | collided
                picked = choose(ranges, taken, strategy)
            if picked is None:
                raise NoAvailableIp(f"no free IP address left in L3 network {l3.name}",
                                    details={"l3_network_uuid": str(l3.uuid)})
            ip_range, value = picked
        try:
            return _insert(l3_network=l3, ip_range=ip_range, ip=int_ip(value), ip_int=value, mac=mac,
                           owner_type=owner_type, owner_uuid=owner_uuid)
        except IntegrityError as exc:
            if mac is not None and _is_mac_conflict(exc):
                if not generated_mac:
                    raise MacInUse(f"MAC {mac} is already in use", details={"mac": mac}) from None
                mac = generate_mac()
                continue
            if static_range is not None:
                raise IpInUse(f"{ip} is already in use in L3 network {l3.name}",
                              details={"ip": ip, "l3_network_uuid": str(l3.uuid)}) from None
            (collided if taken is None else taken).add(value)
    raise NoAvailableIp(f"could not allocate an IP in L3 network {l3.name} after {MAX_ATTEMPTS} attempts",
                        details={"l3_network_uuid": str(l3.uuid)})


@retry_on_lock_conflict   # inside the caller's transaction, a deadlock undid its work too: not ours to redo
def _insert(**fields):
    """The UsedIp of ``fields``; IntegrityError when the address or the MAC is taken."""
    inserted = UsedIp.objects.try_create(**fields)   # no savepoint when it goes in
    if inserted is not None:
        return inserted
    with transaction.atomic():  # refused: the plain INSERT's error says why (address, MAC, ...)
        return UsedIp.objects.create(**fields)


def plan(l3, ip=None):
    """Dry run: the address ``allocate`` would hand out now (a candidate for the random strategy),
    without reserving it. On a DHCP L3 without a DHCP server address yet, that address is set aside
    first (the first NIC's allocation takes it). Raises the same errors as ``allocate``."""
    ranges = _ranges(l3)
    if not ranges:
        raise NoAvailableIp(f"L3 network {l3.name} has no IP ranges", details={"l3_network_uuid": str(l3.uuid)})
    taken = _taken(l3)
    no_ip = NoAvailableIp(f"no free IP address left in L3 network {l3.name}",
                          details={"l3_network_uuid": str(l3.uuid)})
    if l3.dhcp and not UsedIp.objects.filter(l3_network=l3, owner_type=UsedIpOwner.DHCP_SERVER).exists():
        server = choose(ranges, taken, "first-available")
        if server is None:
            raise no_ip
        taken.add(server[1])
    if ip is not None:
        check_static_ip(l3, ip, ranges)
        if ip_int(ip) in taken:
            raise IpInUse(f"{ip} is already in use in L3 network {l3.name}",
                          details={"ip": ip, "l3_network_uuid": str(l3.uuid)})
        return ip
    picked = choose(ranges, taken, strategy_for(l3))
    if picked is None:
        raise no_ip
    return int_ip(picked[1])


def release(used_ip_uuids=None, *, owner_uuid=None, l3_network_uuids=None):
    """Give addresses back (by UsedIp uuid, or all of an owner, optionally on some L3s only).
    Idempotent; returns how many were released."""
    if used_ip_uuids is None and owner_uuid is None:
        return 0
    rows = UsedIp.objects.all()
    if used_ip_uuids is not None:
        rows = rows.filter(uuid__in=list(used_ip_uuids))
    if owner_uuid is not None:
        rows = rows.filter(owner_uuid=owner_uuid)
    if l3_network_uuids is not None:
        rows = rows.filter(l3_network__uuid__in=list(l3_network_uuids))
    return rows.delete()[0]


def ensure_dhcp_server_ip(l3):
    """The DHCP server's own address of ``l3`` (allocated once, the lowest free one), or None when the
    L3 has no ranges yet. The L3 row is locked while looking, so two callers never take two."""
    existing = UsedIp.objects.filter(l3_network=l3, owner_type=UsedIpOwner.DHCP_SERVER).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        L3Network.objects.select_for_update().filter(pk=l3.pk).first()
        existing = UsedIp.objects.filter(l3_network=l3, owner_type=UsedIpOwner.DHCP_SERVER).first()
        if existing is not None or not IpRange.objects.filter(l3_network=l3).exists():
            return existing
        return allocate(l3, owner_type=UsedIpOwner.DHCP_SERVER, owner_uuid=l3.uuid, strategy="first-available")
