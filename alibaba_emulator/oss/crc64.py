"""CRC-64/ECMA-182 as OSS computes it for `x-oss-hash-crc64ecma` (reflected, all-ones final XOR).

crcmod (a dependency of oss2, with a C extension) does the arithmetic; the parameters are the
ones oss2 uses on its side, so both ends agree on every byte."""
import crcmod

_POLYNOMIAL = 0x142F0E1EBA9EA3693
_XOR_OUT = 0xFFFFFFFFFFFFFFFF


def new():
    """A running checksum: `.update(bytes)`, then `.crcValue` (an int, sent as decimal)."""
    return crcmod.Crc(_POLYNOMIAL, initCrc=0, rev=True, xorOut=_XOR_OUT)


def of_bytes(data: bytes) -> int:
    checksum = new()
    checksum.update(data)
    return checksum.crcValue
