"""ECS DescribeRegions and DescribeZones."""
from .instance_types import DATA_DISK_CATEGORIES, INSTANCE_TYPES, SYSTEM_DISK_CATEGORIES
from .registry import action
from .regions import REGIONS, check_region, local_name, zone_local_name, zones

RESOURCE_TYPES = ["VSwitch", "IoOptimized", "Instance", "Disk", "DedicatedHost"]


@action("Ecs", "DescribeRegions", regional=False)
def describe_regions(call):
    language = call.params.str("AcceptLanguage")
    asked = call.params.str("RegionId")
    if asked:
        check_region(asked)
    return {"Regions": {"Region": [
        {"RegionId": region_id, "LocalName": local_name(region_id, language),
         "RegionEndpoint": f"ecs.{region_id}.aliyuncs.com", "Status": "available"}
        for region_id in REGIONS
    ]}}


@action("Ecs", "DescribeZones")
def describe_zones(call):
    language = call.params.str("AcceptLanguage")
    verbose = call.params.bool("Verbose", default=True)
    answered = []
    for zone_id in zones(call.region):
        zone = {"ZoneId": zone_id, "LocalName": zone_local_name(zone_id, language), "ZoneType": "AvailabilityZone",
                "AvailableResourceCreation": {"ResourceTypes": RESOURCE_TYPES},
                "AvailableDiskCategories": {"DiskCategories": DATA_DISK_CATEGORIES},
                "AvailableVolumeCategories": {"VolumeCategories": ["cloud_essd"]}}
        if verbose:
            in_stock = [name for name in INSTANCE_TYPES
                        if call.emulator.in_stock(call.region, zone_id, name)]
            zone["AvailableInstanceTypes"] = {"InstanceTypes": in_stock}
            zone["AvailableResources"] = {"ResourcesInfo": [{
                "IoOptimized": True,
                "InstanceTypes": {"supportedInstanceType": in_stock},
                "InstanceTypeFamilies": {"supportedInstanceTypeFamily": sorted({INSTANCE_TYPES[t]["InstanceTypeFamily"] for t in in_stock})},
                "SystemDiskCategories": {"supportedSystemDiskCategory": SYSTEM_DISK_CATEGORIES},
                "DataDiskCategories": {"supportedDataDiskCategory": DATA_DISK_CATEGORIES},
                "NetworkTypes": {"supportedNetworkCategory": ["vpc"]},
            }]}
        answered.append(zone)
    return {"Zones": {"Zone": answered}}
