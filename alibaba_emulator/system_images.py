"""The OS an image id stands for, while no images module (ecs_images) says: a few well-known
system image ids, then a guess from the id's prefix."""

# image id → (OSName, OSNameEn, OSType, Platform)
SYSTEM_IMAGES = {
    "aliyun_3_x64_20G_alibase_20240819.vhd": ("Alibaba Cloud Linux  3.2104 LTS 64位", "Alibaba Cloud Linux  3.2104 LTS 64 bit", "linux", "Aliyun"),
    "ubuntu_22_04_x64_20G_alibase_20240812.vhd": ("Ubuntu  22.04 64位", "Ubuntu  22.04 64 bit", "linux", "Ubuntu"),
    "ubuntu_24_04_x64_20G_alibase_20240812.vhd": ("Ubuntu  24.04 64位", "Ubuntu  24.04 64 bit", "linux", "Ubuntu"),
    "centos_7_9_x64_20G_alibase_20240628.vhd": ("CentOS  7.9 64位", "CentOS  7.9 64 bit", "linux", "CentOS"),
    "debian_12_6_x64_20G_alibase_20240717.vhd": ("Debian  12.6 64位", "Debian  12.6 64 bit", "linux", "Debian"),
    "win2022_21H2_x64_dtc_en-us_40G_alibase_20240816.vhd": ("Windows Server  2022 数据中心版 64位英文版", "Windows Server  2022 Data Center Edition 64bit English Edition", "windows", "Windows Server 2022"),
}

_FAMILIES = [("aliyun", "Aliyun"), ("ubuntu", "Ubuntu"), ("centos", "CentOS"), ("debian", "Debian"), ("win", "Windows")]


def os_of(image_id, image=None):
    """(OSName, OSNameEn, OSType) of an image: from its record when there is one, else from the ids
    above or a guess from the id's prefix."""
    custom = image
    if custom:
        name = custom.get("OSName") or custom.get("OSNameEn") or "Linux"
        return name, custom.get("OSNameEn") or name, custom.get("OSType") or "linux"
    if image_id in SYSTEM_IMAGES:
        return SYSTEM_IMAGES[image_id][:3]
    for prefix, name in _FAMILIES:
        if image_id.lower().startswith(prefix):
            return name, name, "windows" if prefix == "win" else "linux"
    return "Linux", "Linux", "linux"
