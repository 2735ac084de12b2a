"""Listings the cloud pages by number (``PageNumber``/``PageSize``, the VPC API's way) rather than
by ``NextToken`` (``Cloud.pages``): every item, page after page, until ``TotalCount`` is reached."""


def _path(body, path):
    for step in path.split("."):
        body = body.get(step) if isinstance(body, dict) else None
        if body is None:
            return []
    return body


def numbered_pages(cloud, product, action, params, items, page_size=50):
    """Every item of ``action``'s listing (``items``: where they are in an answer, "Vpcs.Vpc")."""
    number, seen = 1, 0
    while True:
        body = cloud.call(product, action, {**(params or {}), "PageNumber": number, "PageSize": page_size})
        page = _path(body, items)
        yield from page
        seen += len(page)
        if not page or seen >= int(body.get("TotalCount") or 0):
            return
        number += 1
