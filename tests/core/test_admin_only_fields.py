"""Admin-only fields (serializers' ``Meta.admin_only_fields``): infrastructure internals shown to
admin accounts only, on every path that renders or queries a resource."""
import importlib
import inspect
import pkgutil
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

import apps
from apps.core.api.serializers import admin_only_fields, represent
from apps.core.testing import APIViewTestCases
from apps.infra.models import Cluster, Host, Zone
from apps.infra.serializers import HostSerializer
from tests.conftest import make_account

pytestmark = pytest.mark.django_db

# what the issue found normal accounts reading: each must stay declared
NAMED_IN_ISSUE = {
    "HostSerializer": {"management_ip", "username", "ssh_port", "agent_port"},
    "BackupStorageSerializer": {"url"},
    "PrimaryStorageSerializer": {"url"},
    "ImageSerializer": {"url", "backup_storage_refs"},  # the refs hold the install paths
    "VolumeSerializer": {"install_path"},
}


def app_serializers():
    """Every serializer class defined in apps/*/serializers.py."""
    found = {}
    for info in pkgutil.iter_modules(apps.__path__):
        if not (Path(apps.__path__[0]) / info.name / "serializers.py").exists():
            continue
        module = importlib.import_module(f"apps.{info.name}.serializers")
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and hasattr(cls, "to_representation"):
                found[name] = cls
    return found


def api_viewsets(patterns=None):
    """The viewset classes the URLconf routes to."""
    found = set()
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            found |= api_viewsets(pattern.url_patterns)
        elif isinstance(pattern, URLPattern) and hasattr(pattern.callback, "cls"):
            found.add(pattern.callback.cls)
    return found


def test_the_fields_the_issue_named_are_declared_and_every_declared_field_exists():
    serializers = app_serializers()
    for name, fields in NAMED_IN_ISSUE.items():
        assert fields <= admin_only_fields(serializers[name]), name
    for name, cls in serializers.items():
        declared = admin_only_fields(cls)
        if declared:
            readable = {n for n, f in cls().fields.items() if not f.write_only}
            assert declared <= readable, f"{name} declares admin-only fields it does not render"


def test_every_resource_with_admin_only_fields_has_generated_api_tests():
    tested = set()
    for path in Path(__file__).parents[1].rglob("test_*.py"):
        if "APIViewTestCases" in path.read_text():
            importlib.import_module(".".join(path.relative_to(Path(__file__).parents[2]).with_suffix("").parts))

    def walk(cls):
        for sub in cls.__subclasses__():
            if sub.url:
                tested.add(sub.url)
            walk(sub)

    walk(APIViewTestCases.GetObject)
    for viewset in api_viewsets():
        serializer_class = getattr(viewset, "serializer_class", None)
        if serializer_class is None or not admin_only_fields(serializer_class):
            continue
        covered = any(get_resolver().resolve(url).func.cls is viewset for url in tested)
        assert covered, f"{viewset.__name__} shows admin-only fields and has no generated API test"


def _host():
    cluster = Cluster.objects.create(name="c", zone=Zone.objects.create(name="z"), hypervisor_type="KVM")
    return Host.objects.create(name="h", cluster=cluster, hypervisor_type="KVM", management_ip="10.9.8.7",
                               username="root", facts={"hostname": "node-a"})


def test_the_kept_serializer_of_represent_hides_them_from_each_normal_request():
    host = _host()
    admin = SimpleNamespace(user=make_account("adm", admin=True))
    normal = SimpleNamespace(user=make_account("norm"))
    hidden = admin_only_fields(HostSerializer)
    # the same kept serializer answers admin, normal, admin, normal, and a call without a request
    for request, shown in ((admin, True), (normal, False), (admin, True), (normal, False), (None, False)):
        data = represent(HostSerializer, host, {"request": request} if request else None)
        assert (hidden <= set(data)) is shown and (not hidden & set(data)) is not shown, (request, data)
        assert ("10.9.8.7" in str(data)) is shown

    seen = {}

    def other_thread():  # a thread keeps its own serializer: the same answers there
        seen["normal"] = represent(HostSerializer, host, {"request": normal})

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert not hidden & set(seen["normal"])


def test_the_schema_documents_them_as_admin_only(admin_client):
    schema = admin_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    host = schema["components"]["schemas"]["Host"]["properties"]
    assert "Admin accounts only" in host["management_ip"]["description"]
    assert "Admin accounts only" in host["facts"]["description"]
    assert "Admin accounts only" not in host.get("name", {}).get("description", "")


def test_an_empty_csv_list_names_no_admin_only_column(admin_client):
    from tests.conftest import client_for

    normal = client_for(make_account("norm"))
    header = normal.get("/api/v1/hosts/?format=csv&q=name=none").content.decode().strip().split(",")
    assert "name" in header and "management_ip" not in header
    header = admin_client.get("/api/v1/hosts/?format=csv&q=name=none").content.decode().strip().split(",")
    assert "management_ip" in header
