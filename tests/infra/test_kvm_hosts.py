"""KVM hosts added over SSH, end to end: a real sshd (started here on a free port with its own
host key, a generated client key and password auth), the real deploy flow (paramiko, sftp,
virtualenv, supervisor daemon), the real libvirt agent against this machine's libvirtd.

Needs /usr/sbin/sshd (apt-get install openssh-server), ssh-keygen, and libvirtd running
(`virsh -c qemu:///system version`); skipped otherwise. Agent files go to per-test
temporary roots (settings KVM_AGENT_INSTALL_DIR / KVM_AGENT_CONFIG_DIR); every agent started
is stopped at teardown.
"""
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from apps.infra.models import Cluster, Host, Zone
from tests.infra.conftest import needs_libvirtd
from tests.hostagent.conftest import free_port
from tests.network.conftest import test_interface, test_subnet  # noqa: F401  (fixtures)

@pytest.fixture
def kvm_cluster(db):
    return Cluster.objects.create(name="kvm", zone=Zone.objects.create(name="z"), hypervisor_type="KVM")


def body(cluster, sshd_port, **extra):
    return {"name": "local", "cluster_uuid": str(cluster.uuid), "hypervisor_type": "KVM",
            "management_ip": "127.0.0.1", "ssh_port": sshd_port, "username": "root",
            "agent_port": free_port(), **extra}


def add(client, data, capture):
    with capture(execute=True):
        response = client.post("/api/v1/hosts/", data, format="json")
    assert response.status_code == 202, response.content
    return response, client.get(response["Location"]).json()


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def assert_nothing_left(install_root, config_root, agent_port):
    assert not Host.objects.exists()
    assert not install_root.exists(), list(install_root.rglob("*"))[:10]
    assert not config_root.exists()
    state_root = config_root.parent.parent / "var" / "cloudportal-agent"
    assert not state_root.exists(), list(state_root.rglob("*"))[:10]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", agent_port), timeout=1).close()


@pytest.mark.libvirt
@needs_libvirtd
@pytest.mark.django_db
def test_add_local_machine_over_ssh_with_key_deploys_and_connects_the_agent(
        admin_client, sshd, agent_roots, kvm_cluster, django_capture_on_commit_callbacks, monkeypatch):
    install_root, config_root = agent_roots
    data = body(kvm_cluster, sshd.port, private_key=sshd.private_key)
    response, job = add(admin_client, data, django_capture_on_commit_callbacks)
    assert job["state"] == "succeeded", job
    assert "private_key" not in response.json()["resource"] and "password" not in response.json()["resource"]
    assert "PRIVATE KEY" not in str(job)

    host = admin_client.get(f"/api/v1/hosts/{response.json()['resource']['uuid']}/").json()
    assert host["status"] == "Connected" and host["agent_port"] == data["agent_port"]
    import hostagent

    assert host["agent_version"] == hostagent.__version__
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next(line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name"))
    assert host["facts"]["cpu_model"] == model
    node = subprocess.run(["virsh", "-c", "qemu:///system", "nodeinfo"], capture_output=True, text=True).stdout
    node_info = {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in node.splitlines() if ":" in line)}
    assert host["cpu_num"] == int(node_info["CPU(s)"]) == host["facts"]["cpu_num"]
    memory_kib = int(node_info["Memory size"].split()[0])  # libvirt's getInfo() gives whole MiB
    assert host["memory_size"] == (memory_kib // 1024) * 1024 * 1024
    version = subprocess.run(["virsh", "-c", "qemu:///system", "version"], capture_output=True, text=True).stdout
    assert f"libvirt {host['facts']['libvirt_version']}" in version

    # the supervised daemon runs; config and secret are private
    pid = int((install_root / "agent-child.pid").read_text())
    assert pid_alive(pid)
    assert (config_root / "agent.secret").stat().st_mode & 0o777 == 0o600
    assert (config_root / "agent.json").stat().st_mode & 0o777 == 0o600
    stored = Host.objects.get(uuid=host["uuid"])
    assert (config_root / "agent.secret").read_text() == stored.agent_secret
    assert stored.private_key.strip() == sshd.private_key.strip() and stored.address_key == f"127.0.0.1:{data['agent_port']}"

    # the supervisor restarts an agent that dies
    os.kill(pid, 9)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        new = (install_root / "agent-child.pid").read_text().strip() if (install_root / "agent-child.pid").exists() else ""
        if new and int(new) != pid:
            try:
                socket.create_connection(("127.0.0.1", data["agent_port"]), timeout=0.5).close()
                break
            except OSError:
                pass
        time.sleep(0.2)
    else:
        pytest.fail("the supervisor did not restart the agent")

    # adding the same address again: 409
    again = admin_client.post("/api/v1/hosts/", {**data, "name": "again"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "HOST_EXISTS"

    # reconnect with a portal whose agent version differs: the agent is re-deployed in place
    monkeypatch.setattr(hostagent, "__version__", "0.1.0-upgrade-test")
    with django_capture_on_commit_callbacks(execute=True):
        reconnect = admin_client.post(f"/api/v1/hosts/{host['uuid']}/reconnect/")
    job = admin_client.get(reconnect["Location"]).json()
    assert job["state"] == "succeeded", job
    assert (install_root / "0.1.0-upgrade-test" / "venv" / "bin" / "python").exists()
    assert "0.1.0-upgrade-test" in (install_root / "supervise.sh").read_text()
    assert Host.objects.get(uuid=host["uuid"]).status == "Connected"
    assert not pid_alive(pid)

    # deleting the host stops the agent and its supervisor and removes its files
    supervisor = int((install_root / "agent.pid").read_text())
    child = int((install_root / "agent-child.pid").read_text())
    with django_capture_on_commit_callbacks(execute=True):
        deleted = admin_client.delete(f"/api/v1/hosts/{host['uuid']}/")
    assert deleted.status_code == 202
    job = admin_client.get(deleted["Location"]).json()
    assert job["state"] == "succeeded" and job["result"]["undeploy"] == {"removed": True}, job
    assert not pid_alive(supervisor) and not pid_alive(child)
    assert_nothing_left(install_root, config_root, data["agent_port"])


@pytest.mark.libvirt
@needs_libvirtd
@pytest.mark.django_db
def test_add_local_machine_over_ssh_with_password_then_cluster_delete_undeploys_the_agent(
        admin_client, sshd, agent_roots, kvm_cluster, django_capture_on_commit_callbacks):
    install_root, config_root = agent_roots
    data = body(kvm_cluster, sshd.port, password=sshd.PASSWORD)
    response, job = add(admin_client, data, django_capture_on_commit_callbacks)
    assert job["state"] == "succeeded", job
    assert sshd.PASSWORD not in response.content.decode() and sshd.PASSWORD not in str(job)
    host = admin_client.get(f"/api/v1/hosts/{response.json()['resource']['uuid']}/").json()
    assert host["status"] == "Connected" and host["state"] == "Enabled"
    assert host["cpu_num"] == os.cpu_count() and host["facts"]["hostname"] == socket.gethostname()
    stored = Host.objects.get(uuid=host["uuid"])
    assert stored.password == sshd.PASSWORD and not stored.private_key
    assert (config_root / "agent.secret").read_text() == stored.agent_secret
    assert pid_alive(int((install_root / "agent-child.pid").read_text()))

    # deleting the cluster deletes the host as its child: the agent is undeployed too
    with django_capture_on_commit_callbacks(execute=True):
        deleted = admin_client.delete(f"/api/v1/clusters/{kvm_cluster.uuid}/")
    job = admin_client.get(deleted["Location"]).json()
    assert job["state"] == "succeeded", job
    assert job["result"]["cleanup"] == {host["uuid"]: {
        "network": {"removed": True, "dhcp_deleted": [], "bridges_deleted": []},
        "undeploy": {"removed": True}}}, job
    assert_nothing_left(install_root, config_root, data["agent_port"])


def netns_list():
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


@pytest.mark.libvirt
@needs_libvirtd
@pytest.mark.django_db
def test_deleting_a_kvm_hosts_cluster_stops_its_dnsmasq_and_removes_namespace_and_bridge(
        admin_client, sshd, agent_roots, kvm_cluster, django_capture_on_commit_callbacks, test_interface,
        test_subnet):
    from apps.infra import agent
    from apps.network.dhcp import apply_dhcp
    from tests.network.conftest import create_l2, create_l3, ip_link

    install_root, config_root = agent_roots
    data = body(kvm_cluster, sshd.port, private_key=sshd.private_key)
    response, job = add(admin_client, data, django_capture_on_commit_callbacks)
    assert job["state"] == "succeeded", job
    host = Host.objects.get(uuid=response.json()["resource"]["uuid"])
    l2 = create_l2(admin_client, kvm_cluster.zone, interface=test_interface)
    with django_capture_on_commit_callbacks(execute=True):
        attached = admin_client.post(f"/api/v1/l2-networks/{l2['uuid']}/attach/",
                                     {"cluster_uuid": str(kvm_cluster.uuid)}, format="json")
    assert admin_client.get(attached["Location"]).json()["state"] == "succeeded"
    try:
        l3 = create_l3(admin_client, l2["uuid"], ranges=[(f"{test_subnet}.10", f"{test_subnet}.20",
                                                          "255.255.255.0", f"{test_subnet}.1")])
        apply_dhcp(host, l3["uuid"], [])  # what the last VM on the L3 left: a server without entries
        bridge, namespace = l2["bridge_name"], f"cpdhcp-{l3['uuid']}"
        dnsmasq = agent.call(host, "/v1/network/state")["dhcp"][l3["uuid"]]["pid"]
        assert pid_alive(dnsmasq) and namespace in netns_list()
        assert ip_link(test_interface)["master"] == bridge

        with django_capture_on_commit_callbacks(execute=True):
            deleted = admin_client.delete(f"/api/v1/clusters/{kvm_cluster.uuid}/")
        job = admin_client.get(deleted["Location"]).json()
        assert job["state"] == "succeeded", job
        assert job["result"]["cleanup"][str(host.uuid)] == {
            "network": {"removed": True, "dhcp_deleted": [l3["uuid"]], "bridges_deleted": [bridge]},
            "undeploy": {"removed": True}}, job
        assert not pid_alive(dnsmasq) and namespace not in netns_list()
        assert ip_link(bridge) is None and "master" not in ip_link(test_interface)
        assert_nothing_left(install_root, config_root, data["agent_port"])
    finally:
        admin_client.delete(f"/api/v1/l2-networks/{l2['uuid']}/")


@pytest.mark.django_db
def test_wrong_password_fails_with_ssh_auth_failed_and_leaves_nothing(
        admin_client, sshd, agent_roots, kvm_cluster, django_capture_on_commit_callbacks):
    install_root, config_root = agent_roots
    data = body(kvm_cluster, sshd.port, password="not-the-password")
    _, job = add(admin_client, data, django_capture_on_commit_callbacks)
    assert job["state"] == "failed"
    assert job["error"]["code"] == "SSH_AUTH_FAILED" and job["error"]["step"] == "CheckSsh"
    assert f"127.0.0.1:{sshd.port}" in job["error"]["message"]
    assert "not-the-password" not in str(job)
    assert_nothing_left(install_root, config_root, data["agent_port"])


@pytest.mark.django_db
def test_closed_port_fails_with_ssh_unreachable_and_leaves_nothing(
        admin_client, agent_roots, kvm_cluster, django_capture_on_commit_callbacks):
    install_root, config_root = agent_roots
    closed = free_port()
    _, job = add(admin_client, body(kvm_cluster, closed, password="x"), django_capture_on_commit_callbacks)
    assert job["state"] == "failed"
    assert job["error"]["code"] == "SSH_UNREACHABLE" and f"127.0.0.1:{closed}" in job["error"]["message"]
    assert not Host.objects.exists()
    assert not install_root.exists() and not config_root.exists()


@pytest.mark.django_db
@needs_libvirtd
def test_failing_install_fails_with_agent_install_failed_and_removes_everything(
        admin_client, sshd, agent_roots, kvm_cluster, settings, django_capture_on_commit_callbacks):
    install_root, config_root = agent_roots
    # a venv that cannot import libvirt, and a package pip cannot find
    settings.KVM_AGENT_PIP_PACKAGES = ["cloudportal-no-such-package==0.0.0-does-not-exist"]
    data = body(kvm_cluster, sshd.port, private_key=sshd.private_key)
    _, job = add(admin_client, data, django_capture_on_commit_callbacks)
    assert job["state"] == "failed", job
    assert job["error"]["code"] == "AGENT_INSTALL_FAILED" and job["error"]["step"] == "CreateVenv"
    assert "pip install" in job["error"]["message"]
    steps = {s["name"]: s["state"] for s in job["steps"]}
    assert steps["CopyAgent"] == "rolled_back" and steps["RecordHost"] == "rolled_back"
    assert_nothing_left(install_root, config_root, data["agent_port"])


@pytest.mark.django_db
def test_kvm_host_input_validation_and_duplicate_address(admin_client, kvm_cluster):
    base = {"name": "h", "cluster_uuid": str(kvm_cluster.uuid), "hypervisor_type": "KVM", "ssh_port": 22}
    r = admin_client.post("/api/v1/hosts/", {**base, "password": "p"}, format="json")
    assert r.status_code == 400 and "management_ip" in r.json()["details"]
    r = admin_client.post("/api/v1/hosts/", {**base, "management_ip": "not an ip!", "password": "p"}, format="json")
    assert r.status_code == 400 and "management_ip" in r.json()["details"]
    r = admin_client.post("/api/v1/hosts/", {**base, "management_ip": "10.0.0.5"}, format="json")
    assert r.status_code == 400 and "password" in r.json()["details"]
    r = admin_client.post("/api/v1/hosts/", {**base, "management_ip": "10.0.0.5", "password": "p",
                                             "private_key": "k"}, format="json")
    assert r.status_code == 400 and "password" in r.json()["details"]
    r = admin_client.post("/api/v1/hosts/", {**base, "management_ip": "10.0.0.5", "private_key": "junk"},
                          format="json")
    assert r.status_code == 400 and "private_key" in r.json()["details"]

    # the job is not run here (no on-commit execution): the first row stays, the second add is refused
    first = admin_client.post("/api/v1/hosts/", {**base, "management_ip": "kvm-1.example.org", "password": "s3cret"},
                              format="json")
    assert first.status_code == 202, first.content
    assert "s3cret" not in first.content.decode()
    assert Host.objects.get().address_key == "kvm-1.example.org:7070"
    assert Host.objects.get().password == "s3cret"
    second = admin_client.post("/api/v1/hosts/", {**base, "name": "h2", "management_ip": "kvm-1.example.org",
                                                  "password": "x"}, format="json")
    assert second.status_code == 409 and second.json()["code"] == "HOST_EXISTS"
    other_port = admin_client.post("/api/v1/hosts/", {**base, "name": "h3", "management_ip": "kvm-1.example.org",
                                                      "agent_port": 7071, "password": "x"}, format="json")
    assert other_port.status_code == 202
