"""Zones, clusters and hosts moved from compute to infra: a portal upgraded in place keeps its rows,
the rows that point at them and their content types."""
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("compute", "0004_vm_nic_image_root_volume"), ("storage", "0002_image_public"),
          ("network", "0001_initial"), ("infra", None)]


@pytest.mark.django_db(transaction=True)
def test_an_upgraded_portal_keeps_its_zones_clusters_hosts_and_what_points_at_them():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE[:3]).apps
    content_type = old.get_model("contenttypes", "ContentType")
    content_type.objects.filter(app_label="infra").delete()   # an old portal knows only compute's
    old_type, _ = content_type.objects.get_or_create(app_label="compute", model="host")
    zone = old.get_model("compute", "Zone").objects.create(name="z-old")
    cluster = old.get_model("compute", "Cluster").objects.create(name="c-old", zone=zone, hypervisor_type="Simulator")
    host = old.get_model("compute", "Host").objects.create(name="h-old", cluster=cluster, hypervisor_type="Simulator",
                                                           management_ip="192.0.2.1")
    old.get_model("storage", "PrimaryStorage").objects.create(name="ps-old", zone=zone, url="/var/ps",
                                                              type="LocalStorage")

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    from django.contrib.contenttypes.models import ContentType

    from apps.infra.models import Host
    from apps.storage.models import PrimaryStorage

    moved = Host.objects.select_related("cluster__zone").get(uuid=host.uuid)
    assert (moved.name, moved.cluster.name, moved.cluster.zone.name) == ("h-old", "c-old", "z-old")
    assert PrimaryStorage.objects.get(name="ps-old").zone.uuid == zone.uuid
    ContentType.objects.clear_cache()
    assert ContentType.objects.get_for_model(Host).pk == old_type.pk  # what points at it keeps pointing
    assert not ContentType.objects.filter(app_label="compute", model="host").exists()
