"""System tags: typed tags owned by the code (ZStack's SystemTag).

A pattern such as ``staticIp::{l3_uuid:uuid}::{ip:ip}`` declares a tag a resource
type may carry; ``parse`` gives back typed values, ``validate`` refuses a tag that
does not match any pattern registered for the resource type (400).
"""
import ipaddress
import re
import uuid as uuid_lib

from .errors import InvalidArgument

_TOKEN = re.compile(r"\{(?P<name>[a-z_][a-z0-9_]*)(?::(?P<type>[a-z]+))?\}")
_CONVERTERS = {
    "str": (r"[^:]+", str),
    "int": (r"-?[0-9]+", int),
    "uuid": (r"[0-9a-fA-F-]{32,36}", lambda v: str(uuid_lib.UUID(v))),
    "ip": (r"[0-9a-fA-F:.]+", lambda v: str(ipaddress.ip_address(v))),
    "bool": (r"true|false", lambda v: v == "true"),
}
SYSTEM_TAGS = []


class SystemTagDef:
    def __init__(self, pattern, resource_types, description=""):
        self.pattern = pattern
        self.resource_types = tuple([resource_types] if isinstance(resource_types, str) else resource_types)
        self.description = description
        self.converters = {}
        regex, last = "", 0
        for match in _TOKEN.finditer(pattern):
            kind = match.group("type") or "str"
            if kind not in _CONVERTERS:
                raise ValueError(f"unknown token type {kind!r} in {pattern!r}")
            regex += re.escape(pattern[last:match.start()])
            regex += f"(?P<{match.group('name')}>{_CONVERTERS[kind][0]})"
            self.converters[match.group("name")] = _CONVERTERS[kind][1]
            last = match.end()
        regex += re.escape(pattern[last:])
        self.regex = re.compile(f"^{regex}$")
        SYSTEM_TAGS.append(self)

    def parse(self, tag):
        """Typed values of ``tag``, or None when it does not match."""
        match = self.regex.match(tag)
        if not match:
            return None
        try:
            return {name: self.converters[name](value) for name, value in match.groupdict().items()}
        except ValueError:
            return None

    def format(self, **values):
        return _TOKEN.sub(lambda m: str(values[m.group("name")]), self.pattern)


def find(resource_type, tag):
    for definition in SYSTEM_TAGS:
        if resource_type in definition.resource_types and definition.parse(tag) is not None:
            return definition
    return None


def validate(resource_type, tag):
    definition = find(resource_type, tag)
    if definition is None:
        patterns = [d.pattern for d in SYSTEM_TAGS if resource_type in d.resource_types]
        raise InvalidArgument(
            f"'{tag}' is not a valid system tag for {resource_type}",
            code="INVALID_SYSTEM_TAG",
            details={"tag": tag, "patterns": patterns},
        )
    return definition.parse(tag)
