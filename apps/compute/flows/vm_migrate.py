"""Moving a VM to another host: live (running or paused, every volume on shared storage) or cold
(stopped; its volumes on local storage are copied to the destination).

    live: BeginMigrate -> ReserveDestination -> ApplyDhcp (destination) -> MigrateOnHypervisor
          -> CommitMigration -> CleanUpSource
    cold: BeginMigrate -> ReserveDestination -> ReserveVolumeSpace -> CacheImages -> CopyVolumes
          -> DefineOnDestination -> CommitMigration -> CleanUpSource

Every step before CommitMigration is undone when a later one fails: the destination's capacity,
volume space, image caches, copied files, DHCP entries and domain go, and a domain that did
migrate is migrated back, so the VM is left on its source as it was (state included). What is
left of the VM on the source once it moved (its old domain and files, its DHCP entries) goes in
CleanUpSource, which never fails the job: what it could not remove is listed in the job's result
(``left_on_source``).

The destination is the allocator's choice (the VM's size, its L3 networks' clusters and its
primary storages' clusters, the source host avoided) unless the caller names one. ``plan`` is
what the API and the maintenance flow call: it refuses what it can before a job starts (409 naming
the state or what stands in the way, 404/400 for a bad host) and answers the flow with its args;
whether a host fits is the flow's ReserveDestination's to say (422). ``dry_run`` answers the pick
without changing anything (422 when none fits).
"""
import logging
import time

from apps.core.errors import CloudPortalError, Conflict, InvalidArgument, NotFound, Unplaceable
from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep
from apps.network.flows.vm_steps import ApplyDhcp, cluster_ids_for_l3_networks, nics_of, release_dhcp_entries
from apps.storage import cache, space
from apps.storage.models import ImageCache, Volume, VolumeSnapshot, VolumeStatus

from apps.infra import agent
from apps.infra.models import Host

from ..allocator import PlacementSpec, candidates
from ..globalconfig import MIGRATE_TIMEOUT
from ..models import VM_STATE_MACHINE, VmState
from .vm_common import connected_host, define_body, fire, hypervisor, ignore_missing, vm_of

log = logging.getLogger(__name__)

LIVE, COLD = "live", "cold"
LIVE_STATES = (VmState.RUNNING, VmState.PAUSED)


class MigrationRefused(Conflict):
    code = "MIGRATION_NOT_POSSIBLE"


# --- planning (the API, maintenance, dry runs) -------------------------------------------------
def volumes_of(vm):
    """The VM's volumes (root and data) that are not deleted, with their storage and host."""
    return list(Volume.objects.filter(vm_instance_uuid=vm.uuid).exclude(status=VolumeStatus.DELETED)
                .select_related("primary_storage", "host", "image"))


def source_of(vm):
    return vm.host if vm.state in LIVE_STATES else (vm.host or vm.last_host)


def mode_of(vm, volumes):
    """live or cold for ``vm`` as it is; MigrationRefused (409) saying why neither can be."""
    if vm.state in LIVE_STATES:
        local = [v.name for v in volumes if space.is_local(v.primary_storage)]
        if local:
            raise MigrationRefused(
                f"VM {vm.name} is {vm.state} and has volumes on local storage ({', '.join(local)}): a live "
                "migration needs every volume on shared storage; stop the VM to migrate it cold",
                code="MIGRATION_NEEDS_SHARED_STORAGE", details={"state": vm.state, "volumes": local})
        return LIVE
    if vm.state == VmState.STOPPED:
        return COLD
    VM_STATE_MACHINE.next(vm.state, "migrating", action="migrate")   # InvalidState (409) naming the state
    raise MigrationRefused(f"VM {vm.name} is {vm.state}", details={"state": vm.state})


def placement(vm, volumes, host_uuid=None):
    """The allocator's view of a migration: the VM's size and hypervisor, clusters its networks and
    every primary storage of its volumes reach, the source avoided."""
    source = source_of(vm)
    l3_uuids = [n["l3_network_uuid"] for n in nics_of(vm.uuid)]
    reached = cluster_ids_for_l3_networks(l3_uuids) if l3_uuids else None
    clusters = set(reached) if reached is not None else None
    for volume in volumes:
        reach = set(volume.primary_storage.clusters.values_list("pk", flat=True))
        clusters = reach if clusters is None else clusters & reach
    return PlacementSpec(
        cpu_num=vm.cpu_num, memory_size=vm.memory_size, hypervisor_types=(source.hypervisor_type,),
        host_uuid=host_uuid, cluster_ids=sorted(clusters) if clusters is not None else None,
        avoid_host_uuids=[str(source.uuid)])


def plan(vm, host_uuid=None):
    """``(flow, args)`` of migrating ``vm`` (to ``host_uuid`` if given): raises before any job
    starts when it cannot be (409 state / storage / source host, 404 or 400 ``host_uuid``)."""
    from ..vm_clouds import cloud_of

    if cloud_of(vm) is not None:
        raise MigrationRefused(f"VM {vm.name} runs in a public cloud: the cloud places it", code="NOT_SUPPORTED")
    volumes = volumes_of(vm)
    mode = mode_of(vm, volumes)
    VM_STATE_MACHINE.next(vm.state, "migrating", action="migrate")
    source = source_of(vm)
    if source is None:
        raise MigrationRefused(f"VM {vm.name} has no host to migrate from", code="VM_HAS_NO_HOST")
    connected_host(source)
    if host_uuid is not None:
        dest = Host.objects.filter(uuid=host_uuid).first()
        if dest is None:
            raise NotFound(f"host {host_uuid} not found", code="HOST_NOT_FOUND", details={"host_uuid": str(host_uuid)})
        if dest.pk == source.pk:
            raise InvalidArgument(f"VM {vm.name} is on host {dest.name} already", code="SAME_HOST",
                                  details={"host_uuid": ["the VM is on this host already"]})
    args = {"vm_uuid": str(vm.uuid), "mode": mode, "source_host_uuid": str(source.uuid),
            "host_uuid": str(host_uuid) if host_uuid else None}
    return (LIVE_MIGRATE_VM if mode == LIVE else COLD_MIGRATE_VM), args


def destinations(vm, host_uuid=None, limit=None):
    """Hosts the VM could move to now, best first (the allocator's filters; 422 when none); what
    ``plan`` refuses first (no host to move from, a cloud's VM, the state)."""
    plan(vm, host_uuid)
    volumes = volumes_of(vm)
    spec = placement(vm, volumes, host_uuid)
    if vm.state == VmState.STOPPED:
        spec.cpu_num, spec.memory_size = 0, 0   # a stopped VM holds no CPU or memory
    found = candidates(spec)
    return found[:limit] if limit else found


def dry_run(vm, host_uuid=None):
    """The migration that would run, changing nothing: ``{"mode", "source", "destination"}``."""
    dest = destinations(vm, host_uuid)[0]
    dest = Host.objects.select_related("cluster").get(pk=dest.pk)
    source = source_of(vm)
    return {"mode": mode_of(vm, volumes_of(vm)),
            "source": {"uuid": str(source.uuid), "name": source.name},
            "destination": {"uuid": str(dest.uuid), "name": dest.name, "cluster_uuid": str(dest.cluster.uuid)}}


def migrate_vm(vm, host_uuid=None, user=None):
    """Start migrating ``vm`` (a job; for host maintenance and the API): the Job, or the refusal
    ``plan`` raises. ``host_uuid``: the destination, else the allocator picks one."""
    from apps.core.flows import start_job

    flow, args = plan(vm, host_uuid)
    return start_job(flow, resource=vm, user=user, args=args)


# --- steps ------------------------------------------------------------------------------------
def _source(ctx):
    return Host.objects.select_related("cluster").get(uuid=ctx.args["source_host_uuid"])


def _dest(ctx):
    return ctx.cached(("dest", ctx.host_uuid),
                      lambda: Host.objects.select_related("cluster").get(uuid=ctx.host_uuid))


class BeginMigrate(DbStep):
    def run(self, ctx):
        vm = vm_of(ctx)
        ctx.state_before = vm.state
        fire(vm.uuid, "migrating")

    def rollback(self, ctx):
        if ctx.get("state_before") and vm_of(ctx).state == VmState.MIGRATING:
            fire(ctx.args["vm_uuid"], ctx.state_before.lower())


class ReserveDestination(DbStep):
    """The destination, chosen (or the one asked for, checked like any candidate); a running VM
    takes its CPU and memory there now (a stopped one holds none)."""

    def run(self, ctx):
        vm = vm_of(ctx)
        spec = placement(vm, volumes_of(vm), ctx.args.get("host_uuid"))
        live = ctx.args["mode"] == LIVE
        if not live:
            spec.cpu_num, spec.memory_size = 0, 0
        for host in candidates(spec):
            if not live or host.reserve(vm.cpu_num, vm.memory_size, ratios=host.ratios()):
                ctx.host_uuid = str(host.uuid)
                ctx.reserved = live
                break
        else:
            raise Unplaceable("no host fits the VM: every candidate was filled meanwhile", code="NO_HOST_AVAILABLE")
        ctx.nics = nics_of(vm.uuid)

    def rollback(self, ctx):
        if ctx.get("reserved"):
            vm = vm_of(ctx)
            Host.objects.get(uuid=ctx.host_uuid).release(vm.cpu_num, vm.memory_size)
            ctx.reserved = False


def _local_volumes(ctx):
    vm = vm_of(ctx)
    return [v for v in volumes_of(vm) if space.is_local(v.primary_storage)]


def _chain_files(volume):
    """Every file a volume's snapshots and current file make (the image cache under them aside):
    its current file first, then each snapshot's, so the whole tree moves and stays revertible."""
    files = [volume.install_path]
    for path in VolumeSnapshot.objects.filter(volume=volume).order_by("created_at", "id").values_list(
            "install_path", flat=True):
        if path and path not in files:
            files.append(path)
    return files


def _snapshot_bytes(volume):
    return sum(VolumeSnapshot.objects.filter(volume=volume).values_list("actual_size", flat=True))


class ReserveVolumeSpace(DbStep):
    """Cold: room for each local volume on the destination's local storage (its virtual size and
    what its snapshots' files count, as when they were taken)."""

    def run(self, ctx):
        dest = _dest(ctx)
        reserved = []
        for volume in _local_volumes(ctx):
            size = volume.size + _snapshot_bytes(volume)
            space.reserve(volume.primary_storage, dest, size)
            reserved.append({"primary_storage_uuid": str(volume.primary_storage.uuid), "size": size})
        ctx.space_reserved = reserved

    def rollback(self, ctx):
        from apps.storage.models import PrimaryStorage

        dest = Host.objects.get(uuid=ctx.host_uuid)
        for item in ctx.get("space_reserved") or []:
            space.release(PrimaryStorage.objects.get(uuid=item["primary_storage_uuid"]), dest, item["size"])
        ctx.space_reserved = []


class CacheImages(RemoteStep):
    """Cold: a root volume is an overlay on its image's cache file, which the destination needs at
    the same path (downloaded from the image store if it is not there; counted either way)."""

    def run(self, ctx):
        dest = _dest(ctx)
        held = list(ctx.get("dest_caches") or [])
        for volume in _local_volumes(ctx):
            if volume.image is None or not volume.image_sha256 and not volume.image.sha256:
                continue
            if any(h["volume_uuid"] == str(volume.uuid) for h in held):
                continue

            def record(row, volume=volume):
                held.append({"volume_uuid": str(volume.uuid), "id": row.pk})
                ctx.dest_caches = held

            cache.acquire(volume.primary_storage, dest, volume.image, on_counted=record,
                          request_id=f"{ctx.job.uuid}-cache-{volume.uuid}")

    def rollback(self, ctx):
        for item in ctx.get("dest_caches") or []:
            cache.release(item["id"])
        ctx.dest_caches = []


class CopyVolumes(RemoteStep):
    """Cold: each local volume's files (its current file and every snapshot's), from the source's
    agent to the destination's (the destination downloads each with a token the portal made for
    that one file, checking its hash). Each lands at the same path on the same local storage, so
    the backing paths in the qcow2 headers hold there as they are: nothing is rebased."""

    def run(self, ctx):
        from hostagent.file_tokens import file_url

        from apps.storage.globalconfig import DOWNLOAD_TIMEOUT

        source, dest = _source(ctx), _dest(ctx)
        copied = list(ctx.get("copied") or [])
        for volume in _local_volumes(ctx):
            files = _chain_files(volume)
            _check_backing(source, volume, files)
            if volume.pk == vm_of(ctx).root_volume_id:
                files += _config_drive(ctx)
            for index, path in enumerate(files):
                if path in copied:
                    continue
                # the source reads the whole file for its hash: as long as a download may take
                exported = agent.call(source, "/v1/volume/export", {"path": path}, timeout=DOWNLOAD_TIMEOUT.value())
                url = file_url(agent.agent_url(source), str(source.uuid), source.agent_secret, path)
                copied.append(path)
                ctx.copied = copied   # before the call: its rollback removes a half copy too
                agent.call(dest, "/v1/image/cache", {"url": url, "sha256": exported["sha256"], "path": path,
                                                     "size": exported["size"]}, timeout=DOWNLOAD_TIMEOUT.value(),
                           request_id=f"{ctx.job.uuid}-copy-{volume.uuid}" + (f"-{index}" if index else ""))

    def rollback(self, ctx):
        # by name, not only what the context recorded: a worker that died during a copy never
        # wrote it down; each file's path on the destination is its path on the source
        dest = Host.objects.get(uuid=ctx.host_uuid)
        paths = set(ctx.get("copied") or [])
        paths |= {path for v in _local_volumes(ctx) if v.host_id != dest.pk for path in _chain_files(v)}
        # the drive moves only with a local root volume: beside a shared one it is the only copy
        root_id = vm_of(ctx).root_volume_id
        if any(v.pk == root_id and v.host_id != dest.pk for v in _local_volumes(ctx)):
            paths |= set(_config_drive(ctx))
        for path in sorted(paths):
            agent.call(dest, "/v1/volume/delete", {"path": path})
        ctx.copied = []


def _config_drive(ctx):
    """The VM's config drive, a file beside its root volume on local storage: it moves with it."""
    path = vm_of(ctx).config_drive_path
    return [path] if path else []


def _check_backing(source, volume, files):
    """The files copied for a volume are its chain and its snapshots' (``_chain_files``), on its
    image's cache there: a file backed by anything else (a file the portal does not know) would
    arrive broken, so the volume is refused instead."""
    image = volume.image
    sha256 = volume.image_sha256 or (image.sha256 if image else "")
    known = set(files) | ({volume.primary_storage.cache_path(sha256, image.format)} if image is not None else set())
    for path in files:
        backing = agent.call(source, "/v1/volume/info", {"path": path}).get("backing_file")
        if backing is not None and backing not in known:
            raise MigrationRefused(
                f"volume {volume.name}: {path} is backed by {backing}, neither a snapshot of the volume nor its "
                "image's cache, so a copy would arrive broken",
                code="VOLUME_CHAIN_NOT_SUPPORTED", details={"volume_uuid": str(volume.uuid), "backing_file": backing})


class DefineOnDestination(RemoteStep):
    """Cold: the domain defined on the destination (stopped), from the portal's rows as always."""

    def run(self, ctx):
        vm = vm_of(ctx)
        volume = vm.root_volume
        hypervisor(ctx, _dest(ctx), "/v1/vm/define",
                   define_body(vm, ctx.nics, volume.install_path if volume else None,
                               volume.format if volume else "qcow2"))

    def rollback(self, ctx):
        dest = Host.objects.get(uuid=ctx.host_uuid)
        ignore_missing(lambda: agent.call(dest, "/v1/vm/undefine", {"vm_uuid": ctx.args["vm_uuid"]}))


def _migrate_body(vm_uuid, to):
    facts = to.facts or {}
    body = {"vm_uuid": vm_uuid, "dest_host_uuid": str(to.uuid), "dest_address": to.management_ip,
            "dest_uri": facts.get("libvirt_remote_uri") or f"qemu+tcp://{to.management_ip}/system",
            "timeout": MIGRATE_TIMEOUT.value()}
    if facts.get("vnc_listen"):
        body["vnc_listen"] = facts["vnc_listen"]
    return body


class MigrateOnHypervisor(RemoteStep):
    """Live: the source's agent migrates the domain (libvirt: live, persisted on the destination,
    undefined on the source). Undone by migrating it back."""

    def run(self, ctx):
        source, dest = _source(ctx), _dest(ctx)
        started = time.monotonic()
        body = _migrate_body(ctx.args["vm_uuid"], dest)
        answer = agent.call(source, "/v1/vm/migrate", body, timeout=body["timeout"] + 90,
                            request_id=f"{ctx.job.uuid}:migrate")
        ctx.migrated = True
        ctx.migration = {"libvirt_seconds": answer.get("migration_time"),
                         "call_seconds": round(time.monotonic() - started, 3), "vnc_port": answer.get("vnc_port")}

    def rollback(self, ctx):
        # where the domain is, not what the context says: a worker that died during the call
        # never recorded that libvirt finished (libvirt leaves a failed migration's domain running
        # on its source)
        source, dest = _source(ctx), Host.objects.get(uuid=ctx.host_uuid)
        if ctx.args["vm_uuid"] not in agent.call(dest, "/v1/vm/states").get("vms", {}):
            return
        body = _migrate_body(ctx.args["vm_uuid"], source)
        agent.call(dest, "/v1/vm/migrate", body, timeout=body["timeout"] + 90,
                   request_id=f"{ctx.job.uuid}:migrate-back")
        ctx.migrated = False


class CommitMigration(DbStep, NoRollback):
    """The rows follow, in one transaction: the VM's host (and capacity: the source's given back),
    its local volumes' host and space, its state as before."""

    def run(self, ctx):
        from apps.storage.models import PrimaryStorage

        source, dest = _source(ctx), Host.objects.get(uuid=ctx.host_uuid)
        vm = vm_of(ctx)
        fields = {}
        if ctx.args["mode"] == LIVE:
            source.release(vm.cpu_num, vm.memory_size)
            fields = {"host": dest, "last_host": dest, "cluster": dest.cluster}
            # shared volumes: the host asked about their files first (space.host_for) is the VM's
            Volume.objects.filter(vm_instance_uuid=vm.uuid).update(host=dest)
        else:
            fields = {"last_host": dest, "cluster": dest.cluster}
            moved = [v.pk for v in _local_volumes(ctx)]
            Volume.objects.filter(pk__in=moved).update(host=dest)
            for item in ctx.get("space_reserved") or []:
                space.release(PrimaryStorage.objects.get(uuid=item["primary_storage_uuid"]), source, item["size"])
        state = ctx.state_before
        fire(vm.uuid, state.lower(), **fields)
        ctx.result = {"vm_uuid": str(vm.uuid), "mode": ctx.args["mode"], "state": state,
                      "source_host_uuid": str(source.uuid), "host_uuid": str(dest.uuid),
                      **({"migration": ctx.migration} if ctx.get("migration") else {})}


class CleanUpSource(RemoteStep, NoRollback):
    """What stays of the VM on its source: live, its DHCP entries; cold, its old domain, its volume
    files and its image cache references. The VM has moved: a host that cannot do it now keeps them
    and the job's result names them (``left_on_source``) instead of failing."""

    def run(self, ctx):
        source = _source(ctx)
        left = []

        def attempt(what, call):
            # the VM has moved and its rows say so: nothing here may fail the job (its rollback
            # would migrate the domain back under rows that no longer point at the source)
            try:
                call()
            except CloudPortalError as exc:
                log.warning("migration of VM %s: %s stays on host %s: %s", ctx.args["vm_uuid"], what,
                            source.name, exc.message)
                left.append({"what": what, "code": exc.code, "message": exc.message})
            except Exception:  # noqa: BLE001 - logged with its traceback, named in the result
                log.exception("migration of VM %s: removing %s from host %s failed", ctx.args["vm_uuid"], what,
                              source.name)
                left.append({"what": what, "code": "INTERNAL_ERROR", "message": f"removing {what} failed"})

        nics = ctx.get("nics") or []
        if nics:
            attempt("DHCP entries", lambda: release_dhcp_entries(source, nics))
        if ctx.args["mode"] == COLD:
            attempt("domain", lambda: ignore_missing(
                lambda: agent.call(source, "/v1/vm/undefine", {"vm_uuid": ctx.args["vm_uuid"]})))
            for path in ctx.get("copied") or []:
                attempt(path, lambda path=path: agent.call(source, "/v1/volume/delete", {"path": path}))
            for item in ctx.get("dest_caches") or []:
                attempt("image cache", lambda item=item: self._release_source_cache(item, source))
        if left:
            ctx.result = {**ctx.result, "left_on_source": left}

    @staticmethod
    def _release_source_cache(item, source):
        dest_row = ImageCache.objects.filter(pk=item["id"]).first()
        if dest_row is None:
            return
        row = ImageCache.objects.filter(primary_storage_id=dest_row.primary_storage_id, host=source,
                                        sha256=dest_row.sha256).first()
        if row is not None:
            cache.release(row.pk)


LIVE_MIGRATE_VM = Flow("live-migrate-vm", [BeginMigrate, ReserveDestination, ApplyDhcp, MigrateOnHypervisor,
                                           CommitMigration, CleanUpSource], action="migrate-vm")
COLD_MIGRATE_VM = Flow("cold-migrate-vm", [BeginMigrate, ReserveDestination, ReserveVolumeSpace, CacheImages,
                                           CopyVolumes, DefineOnDestination, CommitMigration, CleanUpSource],
                       action="migrate-vm")
