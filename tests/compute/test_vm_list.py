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


def test_a_list_asked_for_fields_joins_only_the_relations_they_read(env):
    made = [env.create()[0] for _ in range(2)]

    def list_sql(fields):
        with CaptureQueriesContext(connection) as queries:
            page = env.client.get(f"/api/v1/vm-instances/?limit=100&fields={fields}").json()["results"]
        assert sorted(vm["uuid"] for vm in page) == sorted(made)
        return page, [q["sql"] for q in queries.captured_queries]

    page, sql = list_sql("uuid,name,state")
    rows = [s for s in sql if "compute_vminstance" in s and "JOIN" in s.upper()]
    assert not rows, rows   # nothing joined: the row's own columns are all it shows
    assert not [s for s in sql if "compute_vmnic" in s]
    assert all(set(vm) == {"uuid", "name", "state"} for vm in page)

    page, sql = list_sql("uuid,host_uuid,nics")
    joined = "\n".join(s for s in sql if "compute_vminstance" in s)
    assert "compute_host" in joined and "compute_zone" not in joined and "storage_image" not in joined
    assert [s for s in sql if "compute_vmnic" in s]   # the NICs, and their L3's uuid with them
    for vm in page:
        assert vm == env.client.get(f"/api/v1/vm-instances/{vm['uuid']}/?fields=uuid,host_uuid,nics").json()
        assert vm["host_uuid"] and vm["nics"][0]["l3_network_uuid"] == env.l3["uuid"]
