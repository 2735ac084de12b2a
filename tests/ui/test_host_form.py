"""The add-host form: each input says when it applies (Simulator: CPUs and memory; KVM: address,
SSH and one of password or key, chosen by a switch the API never sees), and adding a host lands on
the job it started."""
import json
import re

import pytest

from apps.core.models import Job
from apps.core.testing import make_account
from apps.infra.models import Cluster, Host, Zone
from tests.ui.pages import browser

pytestmark = pytest.mark.django_db


def conditions(html):
    """``{input name: its data-show-when}`` for the inputs of a form page."""
    found = {}
    for box in html.split('<div class="mb-3"')[1:]:
        rule = re.match(r' data-show-when="([^"]+)">', box)
        if rule:
            for name in set(re.findall(r'name="([^"]+)"', box)):
                found[name] = json.loads(rule.group(1).replace("&quot;", '"'))
    return found


def test_the_host_form_shows_each_input_only_for_the_hypervisor_it_applies_to():
    admin = make_account("host-admin", admin=True)
    html = browser(admin).get("/ui/hosts/new/").content.decode()
    rules = conditions(html)
    assert rules["cpu_num"] == rules["memory_size"] == {"hypervisor_type": ["Simulator"]}
    for name in ("management_ip", "ssh_port", "username", "agent_port", "ssh_login"):
        assert rules[name] == {"hypervisor_type": ["KVM"]}, name
    assert rules["password"] == {"hypervisor_type": ["KVM"], "ssh_login": ["password"]}
    assert rules["private_key"] == {"hypervisor_type": ["KVM"], "ssh_login": ["private_key"]}
    for always in ("name", "cluster_uuid", "hypervisor_type"):
        assert always not in rules and f'name="{always}"' in html
    # the switch between password and key: a radio group, password first
    assert re.search(r'type="radio"[^>]*name="ssh_login"[^>]*value="password" checked', html)
    assert 'value="private_key">' in html


def test_the_edit_form_of_a_host_has_no_login_switch():
    admin = make_account("host-admin", admin=True)
    cluster = Cluster.objects.create(name="c", zone=Zone.objects.create(name="z"), hypervisor_type="Simulator")
    host = Host.objects.create(name="h", cluster=cluster, hypervisor_type="Simulator", management_ip="127.0.0.8")
    html = browser(admin).get(f"/ui/hosts/{host.uuid}/edit/").content.decode()
    assert 'name="ssh_login"' not in html and 'name="name"' in html


def test_adding_a_simulator_host_lands_on_its_job():
    admin = make_account("host-admin", admin=True)
    cluster = Cluster.objects.create(name="c", zone=Zone.objects.create(name="z"), hypervisor_type="Simulator")
    # what the browser sends once the KVM inputs are hidden (disabled inputs are not sent)
    response = browser(admin).post("/ui/hosts/new/", {
        "name": "sim-1", "description": "", "cluster_uuid": str(cluster.uuid), "hypervisor_type": "Simulator",
        "cpu_num": "8", "memory_size": str(16 << 30)})
    host = Host.objects.get(name="sim-1")
    job = Job.objects.get(resource_uuid=host.uuid)
    assert response.status_code == 302 and response.headers["Location"] == f"/ui/jobs/{job.uuid}/"
    assert host.hypervisor_type == "Simulator"
