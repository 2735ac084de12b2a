"""OSS buckets (H10) through the portal's API against the emulator, with oss2 on the wire and the
emulator's state checked after each operation: create in the data centre's region, view, list
objects page by page, delete in the cloud (refused while not empty) or here only, sync, a failure
after the create, a name another account holds, tenancy."""
import oss2
import pytest

from apps.core.testing import client_for, make_account
from apps.hybrid.models import OssBucket
from tests.emulator.process import DEMO_KEY_ID, DEMO_KEY_SECRET
from tests.hybrid.conftest import ACCOUNT

pytestmark = pytest.mark.django_db
BUCKETS = "/api/v1/oss-buckets/"


def buckets(hybrid, account=ACCOUNT):
    """The account's buckets as the emulator holds them: {name: record}."""
    return hybrid.emulator.state(account)["accounts"].get(account, {}).get("global", {}).get("buckets", {})


def sdk_bucket(hybrid, name, region="cn-hangzhou"):
    """The bucket through oss2 itself (what another tool of the account would do)."""
    return oss2.Bucket(oss2.AuthV4(DEMO_KEY_ID, DEMO_KEY_SECRET), hybrid.emulator.url, name, region=region)


@pytest.fixture
def shanghai(hybrid):
    hybrid.add_key()
    return hybrid.add_data_center("cn-shanghai", time_zone="Asia/Shanghai")


def delete(hybrid, url):
    """DELETE ``url`` with its job run inline: the job as it ended."""
    with hybrid.capture(execute=True):
        answer = hybrid.client.delete(url)
    return hybrid.job(answer)


def create(hybrid, center, name, **extra):
    return hybrid.post(BUCKETS, {"bucket_name": name, "data_center_uuid": center["uuid"], **extra})


def created(hybrid, center, name, **extra):
    response = create(hybrid, center, name, **extra)
    job = hybrid.job(response)
    assert job["state"] == "succeeded", job
    return hybrid.client.get(f"{BUCKETS}{response.json()['resource']['uuid']}/").json()


def test_a_bucket_is_made_in_the_data_centres_region_and_its_objects_are_listed_page_by_page(hybrid, shanghai):
    bucket = created(hybrid, shanghai, "portal-images-sh", acl="public-read", storage_class="IA")
    assert bucket["state"] == "Available" and bucket["region_id"] == "cn-shanghai"
    assert (bucket["location"], bucket["acl"], bucket["storage_class"]) == ("oss-cn-shanghai", "public-read", "IA")
    record = buckets(hybrid)["portal-images-sh"]
    assert (record["Region"], record["Acl"], record["StorageClass"]) == ("cn-shanghai", "public-read", "IA")

    remote = sdk_bucket(hybrid, "portal-images-sh", "cn-shanghai")
    for key in ("a/1.txt", "a/2.txt", "b.txt"):
        remote.put_object(key, b"hello " + key.encode())
    first = hybrid.client.get(f"{BUCKETS}{bucket['uuid']}/objects/", {"limit": 2}).json()
    assert [o["key"] for o in first["objects"]] == ["a/1.txt", "a/2.txt"] and first["truncated"]
    assert first["objects"][0]["size"] == len(b"hello a/1.txt") and first["objects"][0]["last_modified"]
    rest = hybrid.client.get(f"{BUCKETS}{bucket['uuid']}/objects/", {"limit": 2, "marker": first["next_marker"]})
    assert [o["key"] for o in rest.json()["objects"]] == ["b.txt"] and rest.json()["next_marker"] == ""
    folders = hybrid.client.get(f"{BUCKETS}{bucket['uuid']}/objects/", {"delimiter": "/"}).json()
    assert folders["prefixes"] == ["a/"] and [o["key"] for o in folders["objects"]] == ["b.txt"]
    info = hybrid.client.get(f"{BUCKETS}{bucket['uuid']}/info/").json()
    assert info["object_count"] == 3 and info["acl"] == "public-read" and info["data_redundancy_type"] == "LRS"


def test_delete_is_refused_while_the_bucket_holds_objects_then_deletes_it_in_the_cloud(hybrid, shanghai):
    bucket = created(hybrid, shanghai, "portal-delete-me")
    remote = sdk_bucket(hybrid, "portal-delete-me", "cn-shanghai")
    remote.put_object("left.txt", b"x")
    job = delete(hybrid, f"{BUCKETS}{bucket['uuid']}/")
    assert job["state"] == "failed" and job["error"]["code"] == "OSS_BUCKET_NOT_EMPTY", job
    assert "empty it first" in job["error"]["message"] and job["error"]["details"]["cloud_code"] == "BucketNotEmpty"
    assert hybrid.client.get(f"{BUCKETS}{bucket['uuid']}/").json()["state"] == "Available"
    assert "portal-delete-me" in buckets(hybrid)

    remote.delete_object("left.txt")
    job = delete(hybrid, f"{BUCKETS}{bucket['uuid']}/")
    assert job["state"] == "succeeded", job
    assert "portal-delete-me" not in buckets(hybrid) and not OssBucket.objects.exists()


def test_a_failure_after_the_create_deletes_the_bucket_made(hybrid, shanghai):
    hybrid.emulator.admin("POST", "faults", {"product": "Oss", "action": "GetBucketInfo", "code": "InternalError",
                                             "http_status": 500, "times": 1})
    job = hybrid.job(create(hybrid, shanghai, "portal-rolled-back"))
    assert job["state"] == "failed" and job["error"]["step"] == "ReadBucket", job
    steps = {step["name"]: step["state"] for step in job["steps"]}
    assert steps["CreateBucketInCloud"] == "rolled_back" and "Traceback" not in str(job)
    assert buckets(hybrid) == {} and not OssBucket.objects.exists()


def test_a_name_held_elsewhere_is_refused_and_nothing_is_deleted(hybrid, shanghai):
    hybrid.emulator.admin("POST", "keys", {"access_key_id": "LTAI5tOtherAccount0001",
                                           "access_key_secret": "OtherSecret000000000000000000000",
                                           "account": "1688000000000002"})
    oss2.Bucket(oss2.AuthV4("LTAI5tOtherAccount0001", "OtherSecret000000000000000000000"), hybrid.emulator.url,
                "someone-elses", region="cn-shanghai").create_bucket()
    job = hybrid.job(create(hybrid, shanghai, "someone-elses"))
    assert job["state"] == "failed" and job["error"]["code"] == "OSS_BUCKET_NAME_TAKEN", job
    assert "someone-elses" in buckets(hybrid, "1688000000000002") and not OssBucket.objects.exists()

    sdk_bucket(hybrid, "mine-already", "cn-beijing").create_bucket()
    job = hybrid.job(create(hybrid, shanghai, "mine-already"))
    assert job["error"]["code"] == "OSS_BUCKET_EXISTS" and job["error"]["details"]["region_id"] == "cn-beijing"
    assert "mine-already" in buckets(hybrid)   # the rollback did not take it


def test_sync_mirrors_the_buckets_of_its_region_and_notices_one_deleted(hybrid, shanghai):
    sdk_bucket(hybrid, "made-outside-sh", "cn-shanghai").create_bucket(oss2.BUCKET_ACL_PRIVATE)
    sdk_bucket(hybrid, "made-outside-hz", "cn-hangzhou").create_bucket(oss2.BUCKET_ACL_PRIVATE)
    assert hybrid.job(hybrid.post(f"/api/v1/alibaba-data-centers/{shanghai['uuid']}/sync/"))["state"] == "succeeded"
    assert list(OssBucket.objects.values_list("bucket_name", "state")) == [("made-outside-sh", "Available")]
    row = OssBucket.objects.get()
    assert row.location == "oss-cn-shanghai" and row.remote_created_at is not None
    before = row.updated_at
    hybrid.job(hybrid.post(f"/api/v1/alibaba-data-centers/{shanghai['uuid']}/sync/"))
    row.refresh_from_db()
    assert row.updated_at == before   # nothing changed, nothing written

    sdk_bucket(hybrid, "made-outside-sh", "cn-shanghai").delete_bucket()
    hybrid.job(hybrid.post(f"/api/v1/alibaba-data-centers/{shanghai['uuid']}/sync/"))
    assert OssBucket.objects.get().state == "Deleted"
    assert delete(hybrid, f"{BUCKETS}{row.uuid}/")["state"] == "succeeded"   # gone there: here only
    assert not OssBucket.objects.exists()


def test_delete_here_keeps_the_bucket_in_the_cloud(hybrid, shanghai):
    bucket = created(hybrid, shanghai, "portal-forget-me")
    job = hybrid.job(hybrid.post(f"{BUCKETS}{bucket['uuid']}/delete-here/"))
    assert job["state"] == "succeeded", job
    assert not OssBucket.objects.exists() and "portal-forget-me" in buckets(hybrid)
    hybrid.job(hybrid.post(f"/api/v1/alibaba-data-centers/{shanghai['uuid']}/sync/"))
    assert OssBucket.objects.get().bucket_name == "portal-forget-me"   # the next sync brings it back


def test_each_account_sees_its_own_buckets_and_bad_names_are_400(hybrid, shanghai):
    bucket = created(hybrid, shanghai, "portal-private")
    tenant = client_for(make_account("tenant-h10"))
    assert tenant.get(BUCKETS).json()["count"] == 0
    assert tenant.get(f"{BUCKETS}{bucket['uuid']}/objects/").status_code == 404
    assert tenant.delete(f"{BUCKETS}{bucket['uuid']}/").status_code == 404
    refused = tenant.post(BUCKETS, {"bucket_name": "tenant-bucket", "data_center_uuid": shanghai["uuid"]},
                          format="json")
    assert refused.status_code == 400 and "data_center_uuid" in refused.json()["details"]
    bad = hybrid.client.post(BUCKETS, {"bucket_name": "Bad_Name", "data_center_uuid": shanghai["uuid"]},
                             format="json")
    assert bad.status_code == 400 and "bucket_name" in bad.json()["details"]


def test_a_bucket_the_rollback_could_not_delete_keeps_its_row_for_the_next_sync(hybrid, shanghai):
    for action in ("GetBucketInfo", "DeleteBucket"):
        hybrid.emulator.admin("POST", "faults", {"product": "Oss", "action": action, "code": "InternalError",
                                                 "http_status": 500, "times": 1})
    job = hybrid.job(create(hybrid, shanghai, "portal-left-behind"))
    assert job["state"] == "failed" and job["error"]["details"]["rollback_failures"][0]["step"] == \
        "CreateBucketInCloud", job
    assert "portal-left-behind" in buckets(hybrid) and OssBucket.objects.get().state == "Creating"
    hybrid.job(hybrid.post(f"/api/v1/alibaba-data-centers/{shanghai['uuid']}/sync/"))
    assert list(OssBucket.objects.values_list("bucket_name", "state")) == [("portal-left-behind", "Available")]
