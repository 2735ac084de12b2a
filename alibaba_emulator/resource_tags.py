"""Tags on resources and the `Tag.N.Key`/`Tag.N.Value` filters of Describe* calls. ECS answers
tags as {"TagKey", "TagValue"}, VPC as {"Key", "Value"}; records keep the answer's shape."""
from .errors import ApiError

MAX_TAGS = 20


def requested(params, key_name="TagKey", value_name="TagValue"):
    """The tags a Create* call asks for, in the product's answer shape."""
    tags = [t for t in params.objects("Tag") if t.get("Key")]
    if len(tags) > MAX_TAGS:
        raise ApiError(400, "InvalidTagKey.Malformed", f"A resource can have at most {MAX_TAGS} tags.")
    for tag in tags:
        if tag["Key"].startswith(("aliyun", "acs:")) or "http://" in tag["Key"] or "https://" in tag["Key"]:
            raise ApiError(400, "InvalidTagKey.Malformed", f"The specified tag key \"{tag['Key']}\" is not valid.")
    return [{key_name: t["Key"], value_name: t.get("Value", "")} for t in tags]


def matches(record_tags, params, key_name="TagKey", value_name="TagValue"):
    """Whether a record carries every `Tag.N` of the filter (a filter tag without Value matches any value)."""
    have = {t[key_name]: t.get(value_name, "") for t in record_tags}
    for wanted in params.objects("Tag"):
        key = wanted.get("Key")
        if not key:
            continue
        if key not in have or ("Value" in wanted and wanted["Value"] != "" and have[key] != wanted["Value"]):
            return False
    return True
