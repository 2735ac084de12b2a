"""The instance type catalogue: a small realistic slice of the t6 (burstable), g7 (general),
c7 (compute) and r7 (memory) families, the same in every zone unless the admin API takes stock away."""

# type → (family, vCPUs, memory GiB, generation)
_TYPES = [
    ("ecs.t6-c1m1.large", "ecs.t6", 2, 2.0, "ecs-4"),
    ("ecs.t6-c1m2.large", "ecs.t6", 2, 4.0, "ecs-4"),
    ("ecs.t6-c1m4.large", "ecs.t6", 2, 8.0, "ecs-4"),
    ("ecs.g7.large", "ecs.g7", 2, 8.0, "ecs-5"),
    ("ecs.g7.xlarge", "ecs.g7", 4, 16.0, "ecs-5"),
    ("ecs.g7.2xlarge", "ecs.g7", 8, 32.0, "ecs-5"),
    ("ecs.g7.4xlarge", "ecs.g7", 16, 64.0, "ecs-5"),
    ("ecs.c7.large", "ecs.c7", 2, 4.0, "ecs-5"),
    ("ecs.c7.xlarge", "ecs.c7", 4, 8.0, "ecs-5"),
    ("ecs.c7.2xlarge", "ecs.c7", 8, 16.0, "ecs-5"),
    ("ecs.r7.large", "ecs.r7", 2, 16.0, "ecs-5"),
    ("ecs.r7.xlarge", "ecs.r7", 4, 32.0, "ecs-5"),
]

INSTANCE_TYPES = {
    name: {"InstanceTypeId": name, "InstanceTypeFamily": family, "CpuCoreCount": cpus, "MemorySize": memory,
           "InstanceFamilyLevel": "CreditEntryLevel" if family == "ecs.t6" else "EnterpriseLevel",
           "GPUAmount": 0, "GPUSpec": "", "LocalStorageAmount": 0, "EniQuantity": 2 if cpus <= 2 else 3,
           "EniPrivateIpAddressQuantity": 6, "InstanceBandwidthRx": 1024000 * cpus // 2,
           "InstanceBandwidthTx": 1024000 * cpus // 2, "InstancePpsRx": 300000 * cpus // 2,
           "InstancePpsTx": 300000 * cpus // 2, "CpuArchitecture": "X86", "CpuSpeedFrequency": 2.7,
           "PhysicalProcessorModel": "Intel Xeon (Ice Lake) Platinum 8369B",
           "InstanceCategory": "Shared" if family == "ecs.t6" else "General-purpose"}
    for name, family, cpus, memory, _generation in _TYPES
}

FAMILIES = sorted({t["InstanceTypeFamily"] for t in INSTANCE_TYPES.values()})

SYSTEM_DISK_CATEGORIES = ["cloud_essd", "cloud_efficiency", "cloud_ssd"]
DATA_DISK_CATEGORIES = ["cloud_essd", "cloud_efficiency", "cloud_ssd", "cloud"]

FAMILY_GENERATIONS = {family: generation for _, family, _, _, generation in _TYPES}
