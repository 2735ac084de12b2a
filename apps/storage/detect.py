"""What a downloaded file is: qcow2, raw disk or ISO, and its virtual size.

``qemu-img info --output=json`` names the container format; it calls anything it does not know
"raw", an ISO included. The rules (docs/storage.md, "What counts as an image"):

- qcow2: accepted, unless it names a backing file (it would read another file on the host).
- raw with the ISO 9660 signature ``CD001`` at offset 0x8001 (sector 16): an ISO.
- raw otherwise: accepted only when it is at least 512 bytes and carries a disk signature: an MBR
  boot signature (55 AA at 510), a GPT header ("EFI PART" at 512), or a filesystem superblock
  (ext2/3/4, XFS, Btrfs, NTFS, FAT, LVM2 physical volume, swap). Anything else (an HTML error page, a
  text file, random bytes) is refused with NOT_AN_IMAGE.
- any other qemu-img format (vmdk, vdi, vhd, ...): refused with NOT_AN_IMAGE (convert it to qcow2).
"""
import json
import subprocess

from .errors import NotAnImage

ISO_OFFSET = 0x8001


def _read(path, offset, length):
    with open(path, "rb") as fh:
        fh.seek(offset)
        return fh.read(length)


def _looks_like_text(head):
    if not head:
        return True
    sample = head[:4096]
    lowered = sample.lstrip().lower()
    if lowered.startswith((b"<!doctype", b"<html", b"<?xml", b"{", b"[")):
        return True
    printable = sum(1 for b in sample if 32 <= b < 127 or b in (9, 10, 13))
    return printable / len(sample) > 0.95


DISK_SIGNATURES = [  # (offset, bytes, what)
    (510, b"\x55\xaa", "MBR boot signature"),
    (512, b"EFI PART", "GPT header"),
    (1080, b"\x53\xef", "ext2/3/4 superblock"),
    (0, b"XFSB", "XFS superblock"),
    (0x10040, b"_BHRfS_M", "Btrfs superblock"),
    (3, b"NTFS    ", "NTFS boot sector"),
    (54, b"FAT", "FAT boot sector"),
    (82, b"FAT32", "FAT32 boot sector"),
    (536, b"LVM2 001", "LVM2 physical volume"),
    (4086, b"SWAPSPACE2", "swap"),
]


def disk_signature(path, size):
    for offset, magic, what in DISK_SIGNATURES:
        if size >= offset + len(magic) and _read(path, offset, len(magic)) == magic:
            return what
    return None


def qemu_img_info(path):
    try:
        result = subprocess.run(["qemu-img", "info", "--output=json", path], capture_output=True, text=True,
                                timeout=120)
    except FileNotFoundError:
        raise NotAnImage("qemu-img is not installed on the portal machine", code="QEMU_IMG_MISSING") from None
    if result.returncode != 0:
        raise NotAnImage(f"qemu-img cannot read the file: {result.stderr.strip()}")
    return json.loads(result.stdout)


def detect(path, actual_size):
    """``{"format": qcow2|raw|iso, "size": virtual bytes}`` or NotAnImage."""
    info = qemu_img_info(path)
    fmt = info.get("format")
    size = int(info.get("virtual-size") or 0)
    if fmt == "qcow2":
        if info.get("backing-filename"):
            raise NotAnImage("the qcow2 file names a backing file; upload a self-contained image "
                             "(qemu-img convert -O qcow2)", code="IMAGE_HAS_BACKING_FILE",
                             details={"backing_file": info.get("backing-filename")})
        return {"format": "qcow2", "size": size}
    if fmt != "raw":
        raise NotAnImage(f"unsupported image format {fmt!r}; convert it to qcow2", details={"detected": fmt})
    if actual_size >= ISO_OFFSET + 5 and _read(path, ISO_OFFSET, 5) == b"CD001":
        return {"format": "iso", "size": size}
    head = _read(path, 0, 4096)
    if actual_size < 512:
        raise NotAnImage(f"the file is {actual_size} bytes: too small to be a disk image",
                         details={"actual_size": actual_size})
    signature = disk_signature(path, actual_size)
    if signature is None:
        kind = "text or HTML" if _looks_like_text(head) else "data without a partition table or filesystem"
        raise NotAnImage(f"the file is not a disk image ({kind}): a raw image must start with a partition "
                         "table or a filesystem", details={"looks_like": kind})
    return {"format": "raw", "size": size}
