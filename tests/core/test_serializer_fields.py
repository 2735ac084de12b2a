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
    built = VmCreateSerializer._built_fields
    for name in ("image_uuid", "instance_offering_uuid", "name"):
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first and second.fields[name].parent is second
        assert getattr(built[name], "parent", None) is None
    assert first.fields["image_uuid"].queryset is built["image_uuid"].queryset  # shared, not deep-copied
    # the list field holds a child: copied deeply, its child bound to the copy
    assert first.fields["l3_network_uuids"].child.parent is first.fields["l3_network_uuids"]
    assert not first.is_valid() and {"name", "image_uuid", "l3_network_uuids"} <= set(first.errors)
