"""Where Alibaba Cloud's regions are: the time zone a data centre of a region gets when it is added
without one (H11). The cloud's API does not say it; a region not listed here gets UTC."""

REGION_TIME_ZONES = {
    "cn-hongkong": "Asia/Hong_Kong",
    "ap-northeast-1": "Asia/Tokyo",
    "ap-northeast-2": "Asia/Seoul",
    "ap-southeast-1": "Asia/Singapore",
    "ap-southeast-3": "Asia/Kuala_Lumpur",
    "ap-southeast-5": "Asia/Jakarta",
    "ap-southeast-6": "Asia/Manila",
    "ap-southeast-7": "Asia/Bangkok",
    "ap-south-1": "Asia/Kolkata",
    "us-east-1": "America/New_York",
    "us-west-1": "America/Los_Angeles",
    "eu-west-1": "Europe/London",
    "eu-central-1": "Europe/Berlin",
    "me-east-1": "Asia/Dubai",
    "me-central-1": "Asia/Riyadh",
}


def default_time_zone(region_id):
    """The region's time zone: listed, else China's for the mainland regions (cn-...), else UTC."""
    if region_id in REGION_TIME_ZONES:
        return REGION_TIME_ZONES[region_id]
    return "Asia/Shanghai" if region_id.startswith("cn-") else "UTC"
