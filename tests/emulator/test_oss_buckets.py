"""Bucket lifecycle through oss2: create with region, storage class and ACL, info and location,
the account's list with paging, global names, and delete (refused while objects remain)."""
import oss2
import pytest

from tests.emulator.oss_fixtures import DEMO_ACCOUNT, bucket, demo_auth, demo_bucket, oss_server  # noqa: F401


def test_create_bucket_in_the_region_of_the_v4_signature_with_class_and_acl(oss_server):
    created = bucket(oss_server, "images-shanghai", auth=demo_auth("v4"), region="cn-shanghai")
    created.create_bucket(oss2.BUCKET_ACL_PUBLIC_READ,
                          oss2.models.BucketCreateConfig(oss2.BUCKET_STORAGE_CLASS_IA))

    info = created.get_bucket_info()
    assert (info.name, info.location, info.storage_class, info.acl.grant) == (
        "images-shanghai", "oss-cn-shanghai", "IA", "public-read")
    assert info.extranet_endpoint == "oss-cn-shanghai.aliyuncs.com"
    assert info.owner.id == DEMO_ACCOUNT
    assert info.bucket_encryption_rule.sse_algorithm is None
    assert created.get_bucket_location().location == "oss-cn-shanghai"
    assert created.get_bucket_acl().acl == "public-read"

    record = oss_server.buckets()["images-shanghai"]
    assert (record["Region"], record["Location"], record["StorageClass"], record["Acl"]) == (
        "cn-shanghai", "oss-cn-shanghai", "IA", "public-read")
    assert "_dir" in record     # the emulator's own fields, which the API never answers


def test_a_v1_signed_create_lands_in_the_default_region(oss_server):
    created = bucket(oss_server, "plain-bucket")
    created.create_bucket()
    info = created.get_bucket_info()
    assert (info.location, info.storage_class, info.acl.grant) == ("oss-cn-hangzhou", "Standard", "private")


def test_list_buckets_pages_by_prefix_and_marker(oss_server):
    for name in ["alpha-1", "alpha-2", "alpha-3", "beta-1"]:
        bucket(oss_server, name).create_bucket()
    service = oss2.Service(demo_auth(), oss_server.endpoint)

    first = service.list_buckets(prefix="alpha-", max_keys=2)
    assert [item.name for item in first.buckets] == ["alpha-1", "alpha-2"]
    assert first.is_truncated and first.next_marker == "alpha-2"
    second = service.list_buckets(prefix="alpha-", marker=first.next_marker, max_keys=2)
    assert [item.name for item in second.buckets] == ["alpha-3"] and not second.is_truncated
    assert first.buckets[0].location == "oss-cn-hangzhou"

    assert [item.name for item in oss2.BucketIterator(service, max_keys=1)] == [
        "alpha-1", "alpha-2", "alpha-3", "beta-1"]


def test_bucket_names_are_global_across_accounts(oss_server, demo_bucket):
    demo_bucket.create_bucket()     # the owner's repeated create is accepted

    oss_server.add_key("LTAI5tOtherAccount0000000", "other-secret", "1688000000000002")
    other_auth = oss2.Auth("LTAI5tOtherAccount0000000", "other-secret")
    with pytest.raises(oss2.exceptions.ServerError) as raised:
        bucket(oss_server, "demo-bucket", auth=other_auth).create_bucket()
    assert (raised.value.status, raised.value.code) == (409, "BucketAlreadyExists")

    bucket(oss_server, "other-bucket", auth=other_auth).create_bucket()
    mine = oss2.Service(demo_auth(), oss_server.endpoint).list_buckets()
    assert [item.name for item in mine.buckets] == ["demo-bucket"]


def test_delete_bucket_is_refused_while_objects_or_uploads_remain(oss_server, demo_bucket):
    demo_bucket.put_object("left-behind", b"x")
    with pytest.raises(oss2.exceptions.BucketNotEmpty):
        demo_bucket.delete_bucket()
    demo_bucket.delete_object("left-behind")

    upload_id = demo_bucket.init_multipart_upload("pending").upload_id
    with pytest.raises(oss2.exceptions.BucketNotEmpty):
        demo_bucket.delete_bucket()
    demo_bucket.abort_multipart_upload("pending", upload_id)

    demo_bucket.delete_bucket()
    assert oss_server.buckets() == {}
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        demo_bucket.get_bucket_info()
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        demo_bucket.delete_bucket()


def test_bucket_stat_counts_objects_and_bytes(oss_server, demo_bucket):
    demo_bucket.put_object("a", b"12345")
    demo_bucket.put_object("b", b"678")
    stat = demo_bucket.get_bucket_stat()
    assert (stat.storage_size_in_bytes, stat.object_count, stat.multi_part_upload_count) == (8, 2, 0)


def test_an_operation_the_emulator_lacks_is_not_implemented(oss_server, demo_bucket):
    with pytest.raises(oss2.exceptions.NotImplemented):
        demo_bucket.get_bucket_lifecycle()


def test_a_client_keeping_the_real_endpoint_reaches_the_emulator_through_a_proxy(oss_server):
    # Virtual-hosted style (bucket.oss-cn-beijing.aliyuncs.com): the region comes from the host.
    through_proxy = oss2.Bucket(demo_auth(), "http://oss-cn-beijing.aliyuncs.com", "proxied-bucket",
                                proxies={"http": oss_server.endpoint})
    through_proxy.create_bucket()
    through_proxy.put_object("dir/key.txt", b"via proxy")
    assert through_proxy.get_object("dir/key.txt").read() == b"via proxy"
    assert through_proxy.get_bucket_location().location == "oss-cn-beijing"
    assert oss_server.buckets()["proxied-bucket"]["Region"] == "cn-beijing"
    assert bucket(oss_server, "proxied-bucket").get_object("dir/key.txt").read() == b"via proxy"


def test_reset_empties_oss_and_its_files(oss_server, demo_bucket):
    demo_bucket.put_object("k", b"v")
    demo_bucket.init_multipart_upload("pending")
    oss_server.server.admin("POST", "reset")

    service = oss2.Service(demo_auth(), oss_server.endpoint)
    assert service.list_buckets().buckets == []
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        demo_bucket.get_object("k")
    assert not list((oss_server.state_dir / "oss" / "buckets").iterdir())
    demo_bucket.create_bucket()     # the name is free again, and the new bucket empty
    assert demo_bucket.list_objects().object_list == []


def test_describe_regions_lists_the_emulators_regions_with_endpoints(oss_server):
    service = oss2.Service(demo_auth(), oss_server.endpoint)
    regions = {item.region: item for item in service.describe_regions().regions}
    assert {"oss-cn-hangzhou", "oss-cn-shanghai", "oss-ap-southeast-1"} <= set(regions)
    assert regions["oss-cn-shanghai"].internet_endpoint == "oss-cn-shanghai.aliyuncs.com"
    assert [item.region for item in service.describe_regions("oss-cn-beijing").regions] == ["oss-cn-beijing"]
