"""Just enough of the RFB protocol (RFC 6143) to check a console end to end: the version
handshake, the security types, VNC authentication (DES challenge/response) and ServerInit."""
import struct

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

VERSION = b"RFB 003.008\n"
SECURITY_NONE, SECURITY_VNC_AUTH = 1, 2


def _reverse_bits(byte):
    return int(f"{byte:08b}"[::-1], 2)


def des_ecb(key8, data):
    """Single DES: triple DES with the same key three times (cryptography has no single DES)."""
    encryptor = Cipher(TripleDES(key8 * 3), modes.ECB()).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def vnc_auth_response(password, challenge):
    """VNC authentication: DES-encrypt the 16-byte challenge with the password (at most 8
    bytes, zero-padded) as key, each key byte's bits mirrored (the protocol's historical quirk)."""
    key = bytes(_reverse_bits(b) for b in password.encode("latin-1")[:8].ljust(8, b"\0"))
    return des_ecb(key, challenge)


def parse_server_init(data):
    width, height = struct.unpack(">HH", data[:4])
    (name_length,) = struct.unpack(">I", data[20:24])
    return {"width": width, "height": height, "name": data[24:24 + name_length].decode("utf-8", "replace")}
