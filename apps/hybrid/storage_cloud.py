"""The storage calls the client layer (``cloud.Cloud``) does not make itself: listings paged by
PageNumber (DescribeImages), and oss2's clients signed v4 in the data centre's region, so that a
bucket made through them lands in that region (a v1 signature names no region: a bucket made
with one lands wherever the endpoint is)."""
import oss2

from .cloud import AlibabaError

PAGE_SIZE = 100
OSS_CONNECT_TIMEOUT = 10


def number_pages(cloud, product, action, params, items, page_size=PAGE_SIZE):
    """Every item of a listing paged with ``PageNumber``/``PageSize`` (``items``: where they are in
    an answer, ``"Images.Image"``), until ``TotalCount`` are read or a page comes back short."""
    params = dict(params or {}, PageSize=page_size)
    number, seen = 1, 0
    while True:
        body = cloud.call(product, action, {**params, "PageNumber": number})
        page = body
        for step in items.split("."):
            page = page.get(step) if isinstance(page, dict) else None
        page = page or []
        yield from page
        seen += len(page)
        if len(page) < page_size or seen >= int(body.get("TotalCount") or 0):
            return
        number += 1


def oss_bucket(cloud, name):
    return oss2.Bucket(oss2.AuthV4(cloud.access_key_id, cloud.secret), cloud.oss_endpoint(), name,
                       region=cloud.region_id, connect_timeout=OSS_CONNECT_TIMEOUT)


def oss_service(cloud):
    return oss2.Service(oss2.AuthV4(cloud.access_key_id, cloud.secret), cloud.oss_endpoint(),
                        region=cloud.region_id, connect_timeout=OSS_CONNECT_TIMEOUT)


def cloud_code(error):
    """The cloud's code of a portal error (``""`` for one that is not the cloud's)."""
    return (error.details or {}).get("cloud_code", "") if isinstance(error, AlibabaError) else ""


def region_of_location(location):
    """``cn-hangzhou`` for OSS's ``oss-cn-hangzhou``."""
    return location[4:] if (location or "").startswith("oss-") else (location or "")
