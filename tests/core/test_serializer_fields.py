"""Serializers get their own field objects, built once per class and copied per instance."""
from apps.compute.serializers import VmInstanceSerializer


def test_each_serializer_binds_its_own_fields_and_the_built_ones_stay_unbound():
    first, second = VmInstanceSerializer(), VmInstanceSerializer()
    for name in ("name", "tags", "state", "nics"):
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first and second.fields[name].parent is second
    # a field holding another one is copied deeply: its child belongs to the copy
    assert first.fields["nics"].child is not second.fields["nics"].child
    assert first.fields["nics"].child.parent is first.fields["nics"]
    built = VmInstanceSerializer._built_fields
    assert all(getattr(field, "parent", None) is None for field in built.values())


def test_a_copied_field_validates_and_renders_like_the_built_one():
    serializer = VmInstanceSerializer(data={"name": ""})
    assert not serializer.is_valid()
    assert "name" in serializer.errors
    assert VmInstanceSerializer(data={"name": "ok" * 200}).is_valid() is False


def test_a_plain_serializer_with_related_fields_copies_them_without_making_them_again():
    """VmCreateSerializer (a plain Serializer): DRF's deep copy made each UuidRelatedField anew per
    request; the copies now share the built field's queryset, and bind to their own serializer."""
    from apps.compute.serializers import VmCreateSerializer

    first, second = VmCreateSerializer(data={}), VmCreateSerializer(data={})
    first.fields, second.fields  # noqa: B018 - built on first use (alone, this test used to fail here)
    built = VmCreateSerializer._built_fields
    for name in ("image_uuid", "instance_offering_uuid", "name"):
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first and second.fields[name].parent is second
        assert getattr(built[name], "parent", None) is None
    assert first.fields["image_uuid"].queryset is built["image_uuid"].queryset  # shared, not deep-copied
    # the list field holds a child: copied deeply, its child bound to the copy
    assert first.fields["l3_network_uuids"].child.parent is first.fields["l3_network_uuids"]
    assert not first.is_valid() and {"name", "image_uuid", "l3_network_uuids"} <= set(first.errors)


def _vm(**fields):
    import uuid

    from django.db.models import Prefetch, prefetch_related_objects

    from apps.compute.models import VmInstance, VmNic

    vm = VmInstance(pk=10**9, uuid=uuid.uuid4(), name="vm", cpu_num=1, memory_size=1 << 29, **fields)
    prefetch_related_objects([vm], Prefetch("nics", queryset=VmNic.objects.none()))   # none, without a query
    return vm


def test_represent_renders_what_data_does_with_each_call_s_own_context():
    """``represent`` keeps one serializer per class and thread: the same output as a new one's
    ``.data``, the context (``?fields=``, tags) of one call never seen by the next."""
    from apps.core.api.serializers import represent

    first, second = _vm(), _vm(state="Running")
    context = {"tags": {first.uuid: ["a"]}}
    assert represent(VmInstanceSerializer, first, context) == VmInstanceSerializer(first, context=context).data
    assert represent(VmInstanceSerializer, first, context)["tags"] == ["a"]
    selected = {"tags": {}, "fields": {"uuid", "state"}}
    assert represent(VmInstanceSerializer, second, selected) == {"uuid": str(second.uuid), "state": "Running"}
    full = represent(VmInstanceSerializer, second, {"tags": {}})
    assert full == VmInstanceSerializer(second, context={"tags": {}}).data and "nics" in full and full["nics"] == []


def test_represent_makes_a_serializer_per_thread_and_one_for_a_call_inside_a_call(monkeypatch):
    import threading

    from apps.core.api import serializers as api_serializers

    made = []
    real_init = VmInstanceSerializer.__init__
    monkeypatch.setattr(VmInstanceSerializer, "__init__",
                        lambda self, *a, **k: made.append(threading.get_ident()) or real_init(self, *a, **k))
    vm = _vm()
    api_serializers.represent(VmInstanceSerializer, vm, {"tags": {}})
    api_serializers.represent(VmInstanceSerializer, vm, {"tags": {}})
    assert len(made) <= 1  # kept from an earlier test of this thread, or made once now
    thread = threading.Thread(target=api_serializers.represent, args=(VmInstanceSerializer, vm, {"tags": {}}))
    thread.start()
    thread.join()
    assert made[-1] == thread.ident  # another thread made its own

    inner = []
    real_get_tags = VmInstanceSerializer.get_tags

    def nested_get_tags(self, obj):  # a field rendering the same class again, inside the call
        if not inner:
            inner.append(None)
            inner[0] = api_serializers.represent(VmInstanceSerializer, obj, {"tags": {obj.uuid: ["inner"]}})
        return real_get_tags(self, obj)

    monkeypatch.setattr(VmInstanceSerializer, "get_tags", nested_get_tags)
    outer = api_serializers.represent(VmInstanceSerializer, vm, {"tags": {vm.uuid: ["outer"]}})
    assert outer["tags"] == ["outer"] and inner[0]["tags"] == ["inner"]


def test_represent_many_renders_what_a_list_serializer_does_with_each_call_s_own_context():
    from apps.core.api.serializers import represent_many

    first, second = _vm(), _vm(state="Running")
    context = {"tags": {first.uuid: ["a"]}}
    rows = represent_many(VmInstanceSerializer, [first, second], context)
    assert rows == VmInstanceSerializer([first, second], many=True, context=context).data
    assert [row["tags"] for row in rows] == [["a"], []]
    selected = {"tags": {}, "fields": {"uuid", "state"}}
    assert represent_many(VmInstanceSerializer, [second], selected) == [{"uuid": str(second.uuid), "state": "Running"}]
    assert represent_many(VmInstanceSerializer, [], context) == []
