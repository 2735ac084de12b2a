"""Host model: secrets at rest, state tables, atomic capacity with over-provisioning."""
import threading

import pytest
from django.db import connection, connections

from apps.core.errors import InvalidState
from apps.core.models import ChangeLog, ResourceConfig
from apps.infra.globalconfig import CPU_RATIO, MEMORY_RATIO
from apps.infra.models import HOST_STATE_MACHINE, HOST_STATUS_MACHINE, Cluster, Host, Zone

GIB = 1024 ** 3


def make_host(**extra):
    cluster = Cluster.objects.create(name="c", zone=Zone.objects.create(name="z"))
    fields = {"name": "h1", "cluster": cluster, "hypervisor_type": "KVM", "management_ip": "10.0.0.5",
              "cpu_num": 4, "memory_size": 8 * GIB}
    fields.update(extra)
    return Host.objects.create(**fields)


@pytest.mark.django_db
def test_secrets_are_encrypted_at_rest_and_never_in_change_logs():
    host = make_host(password="s3cret-pass", agent_secret="agent-key")
    with connection.cursor() as cursor:
        cursor.execute("SELECT password, agent_secret FROM compute_host WHERE id = %s", [host.pk])
        stored_password, stored_secret = cursor.fetchone()
    assert "s3cret-pass" not in stored_password and stored_password.startswith("gAAAA")
    assert "agent-key" not in stored_secret
    assert Host.objects.get(pk=host.pk).password == "s3cret-pass"
    change = ChangeLog.objects.get(resource_uuid=host.uuid, action="create")
    assert change.after["password"] == "********"
    assert "s3cret-pass" not in str(change.after)


@pytest.mark.django_db
def test_a_secret_read_again_is_not_decrypted_again_and_a_changed_key_still_refuses_it(monkeypatch, settings):
    """Every Host row read carries its agent secret: the plain text of a token read before is kept
    (by key and token), so the allocator's window of hosts costs no decryption per VM."""
    from cryptography.fernet import Fernet

    from apps.core import secrets

    host = make_host(agent_secret="agent-key")
    calls = []
    real = Fernet.decrypt
    monkeypatch.setattr(Fernet, "decrypt", lambda self, token, *a: calls.append(token) or real(self, token, *a))
    secrets._decrypt.cache_clear()
    assert [Host.objects.get(pk=host.pk).agent_secret for _ in range(3)] == ["agent-key"] * 3
    assert len(calls) == 1
    settings.SECRET_KEY = "another-key-altogether"  # CLOUDPORTAL_SECRETS_KEY unset: derived from it
    settings.CLOUDPORTAL_SECRETS_KEY = ""
    with pytest.raises(ValueError, match="cannot be decrypted"):
        Host.objects.get(pk=host.pk)


@pytest.mark.django_db
def test_capacity_follows_the_over_provisioning_ratios_and_their_overrides():
    host = make_host(reserved_cpu=2, reserved_memory=GIB)
    assert host.total_cpu == 40 and host.available_cpu == 38  # default ratio 10
    assert host.total_memory == 8 * GIB and host.available_memory == 7 * GIB
    ResourceConfig.objects.create(category=CPU_RATIO.category, name=CPU_RATIO.name, resource_type="Cluster",
                                  resource_uuid=host.cluster.uuid, value=2.0)
    assert host.total_cpu == 40  # an instance keeps the ratios it first read
    host = Host.objects.get(pk=host.pk)
    assert host.total_cpu == 8
    ResourceConfig.objects.create(category=MEMORY_RATIO.category, name=MEMORY_RATIO.name, resource_type="Host",
                                  resource_uuid=host.uuid, value=1.5)
    assert Host.objects.get(pk=host.pk).total_memory == 12 * GIB


@pytest.mark.django_db
def test_reserve_never_exceeds_capacity_and_release_gives_it_back():
    host = make_host()
    assert host.reserve(30, 4 * GIB)
    assert not host.reserve(11, GIB)  # 40 - 30 = 10 CPUs left
    assert not host.reserve(1, 5 * GIB)  # memory ratio 1.0: 4 GiB left
    assert host.reserve(10, 4 * GIB)
    host.refresh_from_db()
    assert host.available_cpu == 0 and host.available_memory == 0
    host.release(10, 4 * GIB)
    host.refresh_from_db()
    assert host.used_cpu == 30 and host.available_memory == 4 * GIB


@pytest.mark.django_db(transaction=True)
def test_concurrent_reservations_never_overcommit():
    host = make_host(cpu_num=1)  # 10 virtual CPUs
    results = []
    barrier = threading.Barrier(8)

    def grab():
        barrier.wait()
        results.append(Host.objects.get(pk=host.pk).reserve(2, 1))
        connections.close_all()

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 5
    host.refresh_from_db()
    assert host.used_cpu == 10


def test_host_state_and_status_tables():
    assert HOST_STATE_MACHINE.next("Enabled", "preMaintain") == "PreMaintenance"
    assert HOST_STATE_MACHINE.next("PreMaintenance", "maintain") == "Maintenance"
    with pytest.raises(InvalidState):
        HOST_STATE_MACHINE.next("Enabled", "maintain")  # only through PreMaintenance
    assert HOST_STATUS_MACHINE.next("Connecting", "connected") == "Connected"
    assert HOST_STATUS_MACHINE.next("Connected", "disconnected") == "Disconnected"
