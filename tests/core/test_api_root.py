"""The API root lists every collection."""
import importlib

import pytest
from django.apps import apps as django_apps
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def _registered_collections():
    """{prefix: viewset} of every app router's viewset that lists its rows."""
    found = {}
    for config in django_apps.get_app_configs():
        if not config.name.startswith("apps."):
            continue
        try:
            urls = importlib.import_module(f"{config.name}.urls")
        except ModuleNotFoundError:
            continue
        router = getattr(urls, "router", None)
        for prefix, viewset, _basename in getattr(router, "registry", []):
            if hasattr(viewset, "list"):
                found[prefix] = viewset
    return found


def test_the_api_root_lists_every_registered_collection(tenant_client):
    registered = _registered_collections()
    # what the issue found missing, and the rest of the API's collections
    assert {"hosts", "vm-instances", "images", "backup-storage", "primary-storage", "l2-networks", "l3-networks",
            "ip-ranges", "instance-offerings", "volumes", "zones", "clusters", "accounts", "users", "jobs",
            "tags", "global-configs", "audit-logs", "change-logs"} <= set(registered)
    links = tenant_client.get("/api/v1/").json()
    for prefix in registered:
        assert links.get(prefix) == f"http://testserver/api/v1/{prefix}/", prefix
    assert {"auth/login", "schema", "docs"} <= set(links)
    for key, url in links.items():   # every link answers (login only to POST)
        assert tenant_client.get(url).status_code == (405 if key == "auth/login" else 200), key


def test_the_api_root_answers_without_logging_in():
    response = APIClient().get("/api/v1/")
    assert response.status_code == 200 and "vm-instances" in response.json()
