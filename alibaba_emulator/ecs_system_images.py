"""The public system images every region offers (ImageOwnerAlias "system"): a realistic slice of
Alibaba Cloud Linux, CentOS, Ubuntu, Debian and Windows Server, x86_64 and arm64, with the ids the
real service uses (the same id in every region)."""

# image id → (OSNameEn, OSName (zh), Platform, OSType, Architecture, Size GiB, BootMode, ImageFamily, released)
_IMAGES = [
    ("aliyun_3_x64_20G_alibase_20240819.vhd", "Alibaba Cloud Linux  3.2104 LTS 64 bit",
     "Alibaba Cloud Linux  3.2104 LTS 64位", "Aliyun", "linux", "x86_64", 20, "UEFI-Preferred",
     "acs:alibaba_cloud_linux_3_2104_lts_x64", "2024-08-19T07:42:09Z"),
    ("aliyun_3_arm64_20G_alibase_20240819.vhd", "Alibaba Cloud Linux  3.2104 LTS 64 bit ARM Edition",
     "Alibaba Cloud Linux  3.2104 LTS 64位 ARM版", "Aliyun", "linux", "arm64", 20, "UEFI",
     "acs:alibaba_cloud_linux_3_2104_lts_arm64", "2024-08-19T07:50:31Z"),
    ("aliyun_2_1903_x64_20G_alibase_20240628.vhd", "Alibaba Cloud Linux  2.1903 LTS 64 bit",
     "Alibaba Cloud Linux  2.1903 LTS 64位", "Aliyun", "linux", "x86_64", 20, "BIOS",
     "acs:alibaba_cloud_linux_2_1903_lts_x64", "2024-06-28T03:11:47Z"),
    ("centos_7_9_x64_20G_alibase_20240628.vhd", "CentOS  7.9 64 bit", "CentOS  7.9 64位", "CentOS", "linux",
     "x86_64", 20, "BIOS", "acs:centos_7_9_x64", "2024-06-28T02:34:12Z"),
    ("centos_8_5_x64_20G_alibase_20240528.vhd", "CentOS  8.5 64 bit", "CentOS  8.5 64位", "CentOS", "linux",
     "x86_64", 20, "BIOS", "acs:centos_8_5_x64", "2024-05-28T06:20:54Z"),
    ("centos_stream_9_x64_20G_alibase_20240628.vhd", "CentOS Stream 9 64 bit", "CentOS Stream 9 64位",
     "CentOS Stream", "linux", "x86_64", 20, "UEFI-Preferred", "acs:centos_stream_9_x64", "2024-06-28T05:02:19Z"),
    ("ubuntu_24_04_x64_20G_alibase_20240812.vhd", "Ubuntu  24.04 64 bit", "Ubuntu  24.04 64位", "Ubuntu", "linux",
     "x86_64", 20, "UEFI-Preferred", "acs:ubuntu_24_04_x64", "2024-08-12T09:15:40Z"),
    ("ubuntu_22_04_x64_20G_alibase_20240812.vhd", "Ubuntu  22.04 64 bit", "Ubuntu  22.04 64位", "Ubuntu", "linux",
     "x86_64", 20, "UEFI-Preferred", "acs:ubuntu_22_04_x64", "2024-08-12T08:58:03Z"),
    ("ubuntu_22_04_arm64_20G_alibase_20240812.vhd", "Ubuntu  22.04 64 bit ARM Edition", "Ubuntu  22.04 64位 ARM版",
     "Ubuntu", "linux", "arm64", 20, "UEFI", "acs:ubuntu_22_04_arm64", "2024-08-12T09:30:26Z"),
    ("ubuntu_20_04_x64_20G_alibase_20240812.vhd", "Ubuntu  20.04 64 bit", "Ubuntu  20.04 64位", "Ubuntu", "linux",
     "x86_64", 20, "BIOS", "acs:ubuntu_20_04_x64", "2024-08-12T08:41:55Z"),
    ("debian_12_6_x64_20G_alibase_20240717.vhd", "Debian  12.6 64 bit", "Debian  12.6 64位", "Debian", "linux",
     "x86_64", 20, "UEFI-Preferred", "acs:debian_12_x64", "2024-07-17T06:12:37Z"),
    ("debian_11_11_x64_20G_alibase_20240819.vhd", "Debian  11.11 64 bit", "Debian  11.11 64位", "Debian", "linux",
     "x86_64", 20, "BIOS", "acs:debian_11_x64", "2024-08-19T05:58:02Z"),
    ("win2022_21H2_x64_dtc_en-us_40G_alibase_20240816.vhd", "Windows Server  2022 Data Center Edition 64bit English",
     "Windows Server  2022 数据中心版 64位英文版", "Windows Server 2022", "windows", "x86_64", 40, "BIOS",
     "acs:windows_server_2022_datacenter_en-us", "2024-08-16T11:03:44Z"),
    ("win2022_21H2_x64_dtc_zh-cn_40G_alibase_20240816.vhd", "Windows Server  2022 Data Center Edition 64bit Chinese",
     "Windows Server  2022 数据中心版 64位中文版", "Windows Server 2022", "windows", "x86_64", 40, "BIOS",
     "acs:windows_server_2022_datacenter_zh-cn", "2024-08-16T11:21:09Z"),
    ("win2019_1809_x64_dtc_en-us_40G_alibase_20240816.vhd", "Windows Server  2019 Data Center Edition 64bit English",
     "Windows Server  2019 数据中心版 64位英文版", "Windows Server 2019", "windows", "x86_64", 40, "BIOS",
     "acs:windows_server_2019_datacenter_en-us", "2024-08-16T10:44:18Z"),
    ("win2016_1607_x64_dtc_en-us_40G_alibase_20240816.vhd", "Windows Server  2016 Data Center Edition 64bit English",
     "Windows Server  2016 数据中心版 64位英文版", "Windows Server 2016", "windows", "x86_64", 40, "BIOS",
     "acs:windows_server_2016_datacenter_en-us", "2024-08-16T10:25:50Z"),
]


def _image(image_id, name_en, name_zh, platform, os_type, architecture, size, boot_mode, family, released):
    version = image_id.rsplit("_", 1)[1].split(".")[0]
    return {
        "ImageId": image_id, "ImageName": image_id, "ImageVersion": version, "ImageFamily": family,
        "Description": "", "OSName": name_zh, "OSNameEn": name_en, "OSType": os_type, "Platform": platform,
        "Architecture": architecture, "Size": size, "BootMode": boot_mode, "ImageOwnerAlias": "system",
        "IsPublic": True, "IsSelfShared": "", "IsSubscribed": False, "IsCopied": False, "IsSupportCloudinit": True,
        "IsSupportIoOptimized": True, "LoginAsNonRootSupported": os_type == "linux", "Usable": True,
        "ProductCode": "", "SupplierName": "", "LicenseType": "Auto" if os_type == "windows" else "",
        "Status": "Available", "Progress": "100%", "CreationTime": released, "ResourceGroupId": "",
        "Features": {"NvmeSupport": "supported" if boot_mode != "BIOS" else "unsupported", "ImdsSupport": "v2"},
        "SecureBootOptions": {"SecureBootSupport": "unsupported"},
        "DetectionOptions": {"Status": "", "Items": {"Item": []}},
        "DiskDeviceMappings": {"DiskDeviceMapping": [{
            "Device": "/dev/xvda", "Type": "system", "Size": str(size), "Format": "", "SnapshotId": "",
            "ImportOSSBucket": "", "ImportOSSObject": "", "Progress": "100%", "RemainTime": 0, "Encrypted": False}]},
        "Tags": {"Tag": []},
    }


SYSTEM_IMAGES = {row[0]: _image(*row) for row in _IMAGES}
