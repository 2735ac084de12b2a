"""The VM list reads of the rows it joins only what a page shows (their uuids), and shows the same
as each VM's own page."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.compute.vm_env import Env

pytestmark = pytest.mark.django_db


@pytest.fixture
def env(admin_client, sim_agent, tmp_path, django_capture_on_commit_callbacks):
    return Env(admin_client, django_capture_on_commit_callbacks, tmp_path)


def test_the_vm_list_reads_only_the_uuids_of_the_rows_it_joins(env):
    made = [env.create()[0] for _ in range(3)]
    with CaptureQueriesContext(connection) as queries:
        page = env.client.get("/api/v1/vm-instances/?limit=100").json()["results"]
    sql = "\n".join(q["sql"] for q in queries.captured_queries)
    # the host's secret and address, the image's path, the L3's settings: none of them is shown
    for column in ("agent_secret", "management_ip", "install_path", "dns"):
        assert column not in sql, column
    assert sorted(vm["uuid"] for vm in page) == sorted(made)
    for vm in page:
        assert vm == env.client.get(f"/api/v1/vm-instances/{vm['uuid']}/").json()
        assert vm["host_uuid"] and vm["image_uuid"] and vm["nics"][0]["l3_network_uuid"] == env.l3["uuid"]
