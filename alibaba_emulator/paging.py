"""The two paging styles of the API: PageNumber/PageSize (answers TotalCount, PageNumber,
PageSize) and NextToken/MaxResults (answers NextToken, empty on the last page)."""
import base64
import binascii

from .errors import ApiError


def by_page_number(items, params, default_size=10, max_size=100):
    """(page of items, {"TotalCount", "PageNumber", "PageSize"})."""
    number = params.int("PageNumber", default=1, minimum=1)
    size = params.int("PageSize", default=default_size, minimum=1, maximum=max_size)
    start = (number - 1) * size
    return items[start:start + size], {"TotalCount": len(items), "PageNumber": number, "PageSize": size}


def _encode_token(offset):
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _decode_token(token):
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, number = text.partition(":")
        if prefix != "offset":
            raise ValueError(token)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(400, "InvalidParameter.NextToken", "The specified parameter NextToken is not valid.") from None


def by_next_token(items, params, default_size=10, max_size=100):
    """(page of items, {"NextToken", "TotalCount"}): NextToken is "" on the last page."""
    token = params.str("NextToken")
    start = _decode_token(token) if token else 0
    size = params.int("MaxResults", default=default_size, minimum=1, maximum=max_size)
    page = items[start:start + size]
    following = start + size
    return page, {"NextToken": _encode_token(following) if following < len(items) else "", "TotalCount": len(items)}


def wants_next_token(params):
    """Whether the caller pages by NextToken/MaxResults rather than PageNumber/PageSize."""
    return "NextToken" in params or "MaxResults" in params
