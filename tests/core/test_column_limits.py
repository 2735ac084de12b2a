"""Every serializer field saved in an integer or character column validates what the column holds,
so a value too large or too long is a 400 naming the field, never a database error answered 500
(MariaDB: DataError 1264/1406; SQLite: OverflowError)."""
import importlib

import pytest
from django.apps import apps as django_apps
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from rest_framework import serializers

from apps.core.api.serializers import column_of, column_range

SIGNED_64 = (-(2**63), 2**63 - 1)


def _app_serializers():
    """Every serializer class the project defines (its apps' serializers and views modules)."""
    for config in django_apps.get_app_configs():
        if not config.name.startswith("apps."):
            continue
        for module in ("serializers", "views"):
            try:
                importlib.import_module(f"{config.name}.{module}")
            except ModuleNotFoundError:
                continue
    found, todo = [], [serializers.Serializer]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        abstract = issubclass(cls, serializers.ModelSerializer) and not hasattr(getattr(cls, "Meta", None), "model")
        if cls.__module__.startswith("apps.") and not abstract:
            found.append(cls)
    return sorted(set(found), key=lambda c: f"{c.__module__}.{c.__qualname__}")


def _limits(field, kind):
    return [v.limit_value for v in field.validators if isinstance(v, kind)]


def test_the_walk_finds_the_serializers_of_every_registered_viewset():
    from cloudportal.urls import urlpatterns  # noqa: F401 - the routers are built
    from rest_framework.viewsets import GenericViewSet

    classes = set(_app_serializers())
    todo, viewsets = [GenericViewSet], set()
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("apps.") and getattr(cls, "serializer_class", None) is not None:
            viewsets.add(cls)
    assert len(viewsets) >= 12
    assert {v.serializer_class for v in viewsets} <= classes


@pytest.mark.parametrize("serializer_class", _app_serializers(), ids=lambda c: c.__qualname__)
def test_every_writable_field_validates_its_column_s_range_and_length(serializer_class):
    for name, field in serializer_class().fields.items():
        if field.read_only:
            continue
        if isinstance(field, serializers.IntegerField):
            # bounded whatever it is saved in: within what a 64-bit column holds
            maxima, minima = _limits(field, MaxValueValidator), _limits(field, MinValueValidator)
            assert maxima and min(maxima) <= SIGNED_64[1], f"{name}: no maximum"
            assert minima and max(minima) >= SIGNED_64[0], f"{name}: no minimum"
        column = column_of(serializer_class, name, field)
        if column is None:
            continue
        bounds = column_range(column)
        if bounds is not None and isinstance(field, serializers.IntegerField):
            assert min(_limits(field, MaxValueValidator)) <= bounds[1], f"{name}: above its column"
            assert max(_limits(field, MinValueValidator)) >= bounds[0], f"{name}: below its column"
        if isinstance(column, models.CharField) and isinstance(field, serializers.CharField):
            lengths = _limits(field, MaxLengthValidator)
            assert lengths and min(lengths) <= column.max_length, f"{name}: longer than its column"


def test_the_column_ranges_are_what_mariadb_and_sqlite_both_hold():
    from apps.compute.models import InstanceOffering
    from apps.core.models import Job
    from apps.infra.models import Host

    assert column_range(InstanceOffering._meta.get_field("memory_size")) == SIGNED_64
    assert column_range(Host._meta.get_field("ssh_port")) == (0, 2**32 - 1)   # UNSIGNED INT on MariaDB
    assert column_range(Job._meta.get_field("progress")) == (0, 65535)
    assert column_range(models.PositiveBigIntegerField(name="x")) == (0, 2**63 - 1)   # SQLite's limit
    assert column_range(Host._meta.get_field("name")) is None


@pytest.mark.django_db
@pytest.mark.parametrize("value", [2**64, 2**63, -(2**63) - 1])
def test_an_instance_offering_s_memory_size_beyond_its_column_is_400(admin_client, value):
    from apps.compute.models import InstanceOffering

    response = admin_client.post("/api/v1/instance-offerings/",
                                 {"name": "huge", "cpu_num": 1, "memory_size": value}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "INVALID_ARGUMENT" and "memory_size" in response.json()["details"]
    assert not InstanceOffering.objects.filter(name="huge").exists()
    response = admin_client.post("/api/v1/instance-offerings/",
                                 {"name": "largest", "cpu_num": 1, "memory_size": 2**63 - 1}, format="json")
    assert response.status_code == 201, response.content
    assert InstanceOffering.objects.get(name="largest").memory_size == 2**63 - 1


@pytest.mark.django_db
def test_a_vm_s_and_a_host_s_sizes_beyond_their_columns_are_400(admin_client):
    response = admin_client.post("/api/v1/vm-instances/", {"name": "vm", "cpu_num": 1, "memory_size": 2**64,
                                                           "root_disk_size": 2**64}, format="json")
    assert response.status_code == 400, response.content
    assert {"memory_size", "root_disk_size"} <= set(response.json()["details"])
    response = admin_client.post("/api/v1/hosts/", {"name": "h", "hypervisor_type": "Simulator", "cpu_num": 1,
                                                    "memory_size": 2**64, "ssh_port": 2**40}, format="json")
    assert response.status_code == 400, response.content
    assert {"memory_size", "ssh_port"} <= set(response.json()["details"])


@pytest.mark.django_db
def test_a_name_longer_than_its_column_is_400(admin_client):
    response = admin_client.post("/api/v1/zones/", {"name": "z" * 256}, format="json")
    assert response.status_code == 400 and "name" in response.json()["details"]
    response = admin_client.post("/api/v1/users/", {"name": "u" * 151, "password": "pass-word-1"}, format="json")
    assert response.status_code == 400 and "name" in response.json()["details"]
