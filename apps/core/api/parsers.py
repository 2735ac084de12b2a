"""JSON request bodies, refused at the door when they hold what no JSON answer, column or
config can: an unpaired UTF-16 surrogate (``"\\ud800"``: not text, it cannot be encoded as
UTF-8) or a number beyond a float's range (``1e400``: infinity). DRF's parser lets both through,
and the first answer that echoed such a value (a field error, a config) failed to render: a 500.
"""
import codecs
import json
import math
import re

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils.json import strict_constant

# a \uD800-\uDFFF escape: the only way a JSON text can carry a surrogate (the raw bytes are not UTF-8)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = codecs.getreader(encoding)(stream).read()
            data = json.loads(text, parse_float=_finite_float,
                              parse_constant=strict_constant if self.strict else None)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if _SURROGATE_ESCAPE.search(text):   # pairs are fine: only a lone one fails to encode
            try:
                json.dumps(data, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                raise ParseError("JSON parse error - a string holds an unpaired UTF-16 surrogate "
                                 "(\\ud800-\\udfff), which is not text") from None
        return data
