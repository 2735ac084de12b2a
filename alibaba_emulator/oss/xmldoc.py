"""OSS XML: documents without a namespace, times in the service's formats, request bodies parsed
defensively (no DTDs, so no entity expansion)."""
import time
from email.utils import formatdate
from xml.etree import ElementTree

from .errors import malformed_xml

DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def add(parent: ElementTree.Element, tag: str, text=None) -> ElementTree.Element:
    child = ElementTree.SubElement(parent, tag)
    if text is not None:
        child.text = str(text)
    return child


def to_bytes(root: ElementTree.Element) -> bytes:
    return DECLARATION + ElementTree.tostring(root, encoding="utf-8", xml_declaration=False)


def parse(body: bytes, root_tag: str) -> ElementTree.Element:
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise malformed_xml()
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        raise malformed_xml() from None
    if root.tag != root_tag:
        raise malformed_xml()
    return root


def iso8601(timestamp: float) -> str:
    """2026-12-07T08:19:13.000Z, as in listings (the service, and oss2's parser, have whole seconds)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(timestamp))


def http_date(timestamp: float) -> str:
    """Mon, 07 Dec 2026 08:19:13 GMT, as in Last-Modified."""
    return formatdate(timestamp, usegmt=True)


def boolean(value: bool) -> str:
    return "true" if value else "false"
