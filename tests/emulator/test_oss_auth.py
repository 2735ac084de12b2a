"""OSS signatures, checked for real: oss2 signs v1, v4 and presigned URLs, the emulator recomputes
them, and a wrong secret or an unknown key raises what oss2 raises against the real service."""
import oss2
import pytest
import requests

from tests.emulator.oss_fixtures import bucket, demo_auth, demo_bucket, keys, oss_server  # noqa: F401
from tests.emulator.process import DEMO_KEY_ID


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_a_good_signature_is_accepted(oss_server, demo_bucket, version):
    signed = bucket(oss_server, "demo-bucket", auth=demo_auth(version))
    signed.put_object("dir/with space+plus&amp.txt", b"payload")
    assert signed.get_object("dir/with space+plus&amp.txt").read() == b"payload"
    assert [item.key for item in oss2.ObjectIteratorV2(signed, prefix="dir/")] == ["dir/with space+plus&amp.txt"]


@pytest.mark.parametrize("auth_class", [oss2.Auth, oss2.AuthV4])
def test_a_wrong_secret_raises_signature_does_not_match(oss_server, demo_bucket, auth_class):
    wrong = bucket(oss_server, "demo-bucket", auth=auth_class(DEMO_KEY_ID, "not-the-secret"))
    with pytest.raises(oss2.exceptions.SignatureDoesNotMatch) as raised:
        wrong.put_object("key", b"data")
    assert raised.value.status == 403
    assert raised.value.request_id
    assert keys(demo_bucket) == []


@pytest.mark.parametrize("auth_class", [oss2.Auth, oss2.AuthV4])
def test_an_unknown_access_key_raises_invalid_access_key_id(oss_server, auth_class):
    unknown = oss2.Service(auth_class("LTAI5tNoSuchKey000000000", "whatever"), oss_server.endpoint,
                           region="cn-hangzhou")
    with pytest.raises(oss2.exceptions.ServerError) as raised:
        unknown.list_buckets()
    assert (raised.value.status, raised.value.code) == (403, "InvalidAccessKeyId")


def test_a_head_error_comes_in_the_x_oss_err_header(oss_server, demo_bucket):
    wrong = bucket(oss_server, "demo-bucket", auth=oss2.Auth(DEMO_KEY_ID, "not-the-secret"))
    with pytest.raises(oss2.exceptions.SignatureDoesNotMatch):
        wrong.head_object("anything")
    with pytest.raises(oss2.exceptions.NoSuchKey):
        demo_bucket.head_object("missing")
    assert demo_bucket.object_exists("missing") is False


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_presigned_urls_get_and_put(oss_server, demo_bucket, version):
    signed = bucket(oss_server, "demo-bucket", auth=demo_auth(version))
    upload_url = signed.sign_url("PUT", "shared/report.csv", 60)
    assert requests.put(upload_url, data=b"a,b\n1,2\n").status_code == 200
    download_url = signed.sign_url("GET", "shared/report.csv", 60)
    answer = requests.get(download_url)
    assert (answer.status_code, answer.content) == (200, b"a,b\n1,2\n")

    tampered = download_url.replace("report.csv", "other.csv")
    answer = requests.get(tampered)
    assert answer.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in answer.content


def test_an_expired_presigned_url_is_refused(oss_server, demo_bucket):
    demo_bucket.put_object("old", b"x")
    answer = requests.get(demo_bucket.sign_url("GET", "old", -10))
    assert answer.status_code == 403 and b"<Code>AccessDenied</Code>" in answer.content


def test_anonymous_and_other_accounts_cannot_read_a_private_bucket(oss_server, demo_bucket):
    demo_bucket.put_object("secret.txt", b"x")
    anonymous = bucket(oss_server, "demo-bucket", auth=oss2.AnonymousAuth())
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.get_object("secret.txt")

    oss_server.add_key("LTAI5tOtherAccount0000000", "other-secret", "1688000000000002")
    other = bucket(oss_server, "demo-bucket", auth=oss2.Auth("LTAI5tOtherAccount0000000", "other-secret"))
    with pytest.raises(oss2.exceptions.AccessDenied):
        other.get_object("secret.txt")
    with pytest.raises(oss2.exceptions.AccessDenied):
        other.get_bucket_info()

    demo_bucket.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ)
    assert anonymous.get_object("secret.txt").read() == b"x"
    with pytest.raises(oss2.exceptions.AccessDenied):
        other.put_object("mine.txt", b"y")


def test_errors_are_oss_xml_without_a_namespace(oss_server):
    answer = requests.get(f"{oss_server.endpoint}/no-such-bucket/key")
    assert answer.status_code == 404
    assert answer.headers["x-oss-request-id"]
    body = answer.text
    assert "<Error>" in body and "<Code>NoSuchBucket</Code>" in body and "xmlns" not in body
    assert f"<RequestId>{answer.headers['x-oss-request-id']}</RequestId>" in body
    assert "<HostId>" in body


def test_the_v2_signature_is_refused_clearly(oss_server, demo_bucket):
    v2 = bucket(oss_server, "demo-bucket", auth=oss2.AuthV2(DEMO_KEY_ID, "CloudPortalDemoSecret0000000000"))
    with pytest.raises(oss2.exceptions.InvalidArgument) as raised:
        v2.put_object("key", b"x")
    assert raised.value.value == "OSS2"
