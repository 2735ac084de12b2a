"""The regions and zones the emulator serves (a fixed catalogue, like the real service's list)."""
from .errors import ApiError

# region id → (Chinese local name, English local name, zone letters)
REGIONS = {
    "cn-hangzhou": ("华东1（杭州）", "China (Hangzhou)", "hij"),
    "cn-shanghai": ("华东2（上海）", "China (Shanghai)", "efg"),
    "cn-beijing": ("华北2（北京）", "China (Beijing)", "ghi"),
    "ap-southeast-1": ("新加坡", "Singapore", "abc"),
    "us-west-1": ("美国（硅谷）", "US (Silicon Valley)", "ab"),
    "eu-central-1": ("德国（法兰克福）", "Germany (Frankfurt)", "ab"),
}

# the time zone of each region's sites, for portals that show times where the site is
TIME_ZONES = {"cn-hangzhou": "Asia/Shanghai", "cn-shanghai": "Asia/Shanghai", "cn-beijing": "Asia/Shanghai",
              "ap-southeast-1": "Asia/Singapore", "us-west-1": "America/Los_Angeles",
              "eu-central-1": "Europe/Berlin"}


def check_region(region_id):
    if region_id not in REGIONS:
        raise ApiError(404, "InvalidRegionId.NotFound", f"The specified RegionId \"{region_id}\" does not exist.")


def local_name(region_id, language=None):
    chinese, english, _ = REGIONS[region_id]
    return english if (language or "zh-CN").lower().startswith("en") else chinese


def zones(region_id):
    """Zone ids of a region, e.g. cn-hangzhou-h."""
    return [f"{region_id}-{letter}" for letter in REGIONS[region_id][2]]


def zone_local_name(zone_id, language=None):
    region_id, _, letter = zone_id.rpartition("-")
    if (language or "zh-CN").lower().startswith("en"):
        return f"{REGIONS[region_id][1]} Zone {letter.upper()}"
    return f"{REGIONS[region_id][0].split('（')[0]} 可用区{letter.upper()}"


def check_zone(region_id, zone_id):
    if zone_id not in zones(region_id):
        raise ApiError(404, "InvalidZoneId.NotFound", f"The specified ZoneId \"{zone_id}\" does not exist.")
