"""ECS DescribeInstanceTypes, DescribeInstanceTypeFamilies and DescribeAvailableResource (stock per
zone, which the admin API can take away)."""
from .errors import invalid_parameter
from .instance_types import DATA_DISK_CATEGORIES, FAMILY_GENERATIONS, INSTANCE_TYPES, SYSTEM_DISK_CATEGORIES
from .paging import by_next_token
from .registry import action
from .regions import check_zone, zones


@action("Ecs", "DescribeInstanceTypes", regional=False)
def describe_instance_types(call):
    p = call.params
    names = set(p.list("InstanceTypes"))
    families = set(p.list("InstanceTypeFamilies")) | ({p.str("InstanceTypeFamily")} if "InstanceTypeFamily" in p else set())
    low_cpu, high_cpu = p.int("MinimumCpuCoreCount", 0), p.int("MaximumCpuCoreCount", 10 ** 6)
    low_memory = float(p.str("MinimumMemorySize", "0"))
    high_memory = float(p.str("MaximumMemorySize", "1e9"))
    found = [t for name, t in INSTANCE_TYPES.items()
             if (not names or name in names) and (not families or t["InstanceTypeFamily"] in families)
             and low_cpu <= t["CpuCoreCount"] <= high_cpu and low_memory <= t["MemorySize"] <= high_memory]
    page, info = by_next_token(found, p, default_size=1600, max_size=1600)
    return {"InstanceTypes": {"InstanceType": page}, "NextToken": info["NextToken"]}


@action("Ecs", "DescribeInstanceTypeFamilies")
def describe_instance_type_families(call):
    generation = call.params.str("Generation")
    return {"InstanceTypeFamilies": {"InstanceTypeFamily": [
        {"InstanceTypeFamilyId": family, "Generation": gen}
        for family, gen in sorted(FAMILY_GENERATIONS.items()) if not generation or gen == generation
    ]}}


def _resource(kind, values):
    return {"Type": kind, "SupportedResources": {"SupportedResource": values}}


def _value(value, available=True, **extra):
    return {"Value": value, "Status": "Available" if available else "SoldOut",
            "StatusCategory": "WithStock" if available else "WithoutStock", **extra}


@action("Ecs", "DescribeAvailableResource")
def describe_available_resource(call):
    p = call.params
    destination = p.str("DestinationResource", required=True,
                        choices=("Zone", "IoOptimized", "InstanceType", "SystemDisk", "DataDisk", "Network",
                                 "ddh", "InstanceTypeFamily"))
    wanted_type = p.str("InstanceType")
    if wanted_type and wanted_type not in INSTANCE_TYPES:
        raise invalid_parameter("InstanceType", wanted_type, "InvalidInstanceType.ValueNotSupported")
    zone_ids = zones(call.region)
    if "ZoneId" in p:
        check_zone(call.region, p.str("ZoneId"))
        zone_ids = [p.str("ZoneId")]
    answered = []
    for zone_id in zone_ids:
        types = [wanted_type] if wanted_type else list(INSTANCE_TYPES)
        stocked = {name: call.emulator.in_stock(call.region, zone_id, name) for name in types}
        any_stock = any(stocked.values())
        if destination == "Zone":
            resources = [_resource("Zone", [_value(zone_id, any_stock)])]
        elif destination in ("InstanceType", "ddh"):
            resources = [_resource("InstanceType", [_value(n, ok) for n, ok in stocked.items()])]
        elif destination == "InstanceTypeFamily":
            families = sorted({INSTANCE_TYPES[n]["InstanceTypeFamily"] for n, ok in stocked.items() if ok})
            resources = [_resource("InstanceTypeFamily", [_value(f) for f in families])]
        elif destination == "SystemDisk":
            resources = [_resource("SystemDisk", [_value(c, any_stock, Min=20, Max=2048, Unit="GiB")
                                                  for c in SYSTEM_DISK_CATEGORIES])]
        elif destination == "DataDisk":
            resources = [_resource("DataDisk", [_value(c, any_stock, Min=20, Max=32768, Unit="GiB")
                                                for c in DATA_DISK_CATEGORIES])]
        elif destination == "Network":
            resources = [_resource("Network", [_value("vpc", any_stock)])]
        else:
            resources = [_resource("IoOptimized", [_value("optimized", any_stock)])]
        answered.append({"RegionId": call.region, "ZoneId": zone_id,
                         "Status": "Available" if any_stock else "SoldOut",
                         "StatusCategory": "WithStock" if any_stock else "WithoutStock",
                         "AvailableResources": {"AvailableResource": resources}})
    return {"AvailableZones": {"AvailableZone": answered}}
