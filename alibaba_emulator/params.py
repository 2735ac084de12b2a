"""Reading an RPC call's parameters the way the SDK flattens them: every value is a string;
booleans are `True`/`False`; some lists are JSON strings (`InstanceIds='["i-1"]'`), others are
repeated (`SecurityGroupIds.1`), lists of objects are `Tag.1.Key`, objects are `SystemDisk.Size`."""
import json
import re

from .errors import invalid_parameter, missing_parameter

_MISSING = object()


class Params:
    def __init__(self, values):
        self.values = dict(values)

    def __contains__(self, name):
        return name in self.values and self.values[name] != ""

    def raw(self, name, default=None):
        return self.values.get(name, default)

    def str(self, name, default=None, required=False, choices=None):
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise missing_parameter(name)
            return default
        if choices is not None and value not in choices:
            raise invalid_parameter(name, value)
        return value

    def int(self, name, default=None, required=False, minimum=None, maximum=None):
        value = self.str(name, required=required)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise invalid_parameter(name, value) from None
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            raise invalid_parameter(name, value)
        return number

    def bool(self, name, default=False):
        value = self.str(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered not in ("true", "false"):
            raise invalid_parameter(name, value)
        return lowered == "true"

    def json_list(self, name, required=False):
        """A list the SDK sends as one JSON string, e.g. DescribeInstances' InstanceIds."""
        value = self.str(name, required=required)
        if value is None:
            return []
        try:
            items = json.loads(value)
        except ValueError:
            raise invalid_parameter(name, value) from None
        if not isinstance(items, list):
            raise invalid_parameter(name, value)
        return [str(item) for item in items]

    def list(self, name, required=False):
        """A repeated list: `Name.1`, `Name.2`, ... (scalars), in index order."""
        pattern = re.compile(re.escape(name) + r"\.(\d+)$")
        found = sorted((int(m.group(1)), v) for k, v in self.values.items() if (m := pattern.match(k)))
        if not found and required:
            raise missing_parameter(name)
        return [v for _, v in found]

    def objects(self, name):
        """A repeated list of objects: `Tag.1.Key`, `Tag.1.Value`, ... → [{"Key": .., "Value": ..}]."""
        pattern = re.compile(re.escape(name) + r"\.(\d+)\.(.+)$")
        by_index = {}
        for key, value in self.values.items():
            match = pattern.match(key)
            if match:
                by_index.setdefault(int(match.group(1)), {})[match.group(2)] = value
        return [by_index[index] for index in sorted(by_index)]

    def object(self, name):
        """An object flattened with dots: `SystemDisk.Size`, `SystemDisk.Category` → {"Size": .., ...}."""
        prefix = name + "."
        return {k[len(prefix):]: v for k, v in self.values.items() if k.startswith(prefix)}

    def tags(self):
        """`Tag.N.Key`/`Tag.N.Value` as the [{"TagKey", "TagValue"}] shape ECS answers with."""
        return [{"TagKey": t.get("Key", ""), "TagValue": t.get("Value", "")} for t in self.objects("Tag") if t.get("Key")]
