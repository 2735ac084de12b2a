"""OSS errors as the real service answers them: an HTTP status and an `<Error>` XML document
(for HEAD, which has no body, the same document base64-encoded in the `x-oss-err` header, which
oss2 reads to raise the right exception class)."""
import base64
from xml.etree import ElementTree

from aiohttp import web


class OssError(Exception):
    """Raised anywhere below `handle`; turned into the answer the real service would give."""

    def __init__(self, status: int, code: str, message: str, **details: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        # Extra elements the real service adds for some codes (BucketName, Key, StringToSign, ...).
        self.details = details
        self.headers: dict[str, str] = {}


def no_such_bucket(bucket: str) -> OssError:
    return OssError(404, "NoSuchBucket", "The specified bucket does not exist.", BucketName=bucket)


def no_such_key(key: str) -> OssError:
    return OssError(404, "NoSuchKey", "The specified key does not exist.", Key=key)


def no_such_upload(upload_id: str) -> OssError:
    return OssError(404, "NoSuchUpload",
                    "The specified upload does not exist. The upload ID may be invalid, "
                    "or the upload may have been aborted or completed.", UploadId=upload_id)


def access_denied(message: str = "You have no right to access this bucket.") -> OssError:
    return OssError(403, "AccessDenied", message)


def invalid_argument(message: str, name: str = "", value: str = "") -> OssError:
    details = {"ArgumentName": name, "ArgumentValue": value} if name else {}
    return OssError(400, "InvalidArgument", message, **details)


def malformed_xml() -> OssError:
    return OssError(400, "MalformedXML", "The XML you provided was not well-formed or did not "
                                         "validate against our published schema.")


def error_document(error: OssError, request_id: str, host_id: str) -> bytes:
    root = ElementTree.Element("Error")
    ElementTree.SubElement(root, "Code").text = error.code
    ElementTree.SubElement(root, "Message").text = error.message
    ElementTree.SubElement(root, "RequestId").text = request_id
    ElementTree.SubElement(root, "HostId").text = host_id
    for name, value in error.details.items():
        ElementTree.SubElement(root, name).text = value
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="utf-8",
                                                                              xml_declaration=False)


def error_response(error: OssError, *, method: str, request_id: str, host_id: str) -> web.Response:
    document = error_document(error, request_id, host_id)
    headers = {"x-oss-request-id": request_id, "Content-Type": "application/xml", **error.headers}
    if method == "HEAD":
        headers["x-oss-err"] = base64.b64encode(document).decode("ascii")
        return web.Response(status=error.status, headers=headers)
    return web.Response(status=error.status, body=document, headers=headers)
