"""Object bytes on their way in and out, streamed: a request body goes to a temporary file in
chunks while its MD5 and CRC-64 are computed, and an object (or a range of it) is sent from its
file in chunks, so a multi-GB upload or download never sits in memory."""
import asyncio
import base64
import dataclasses
import hashlib
from pathlib import Path

from aiohttp import web

from . import crc64
from .errors import OssError

CHUNK = 1 << 20
# The service's limit for one PutObject or one part.
MAX_SINGLE_UPLOAD = 5 * 1024 ** 3


@dataclasses.dataclass
class Received:
    path: Path
    size: int
    md5: bytes        # the binary digest
    crc64: int

    @property
    def etag(self) -> str:
        return self.md5.hex().upper()


async def receive(request: web.Request, path: Path) -> Received:
    """Write the request body to `path`; checks Content-MD5 when the client sent one."""
    declared = request.content_length
    if declared is not None and declared > MAX_SINGLE_UPLOAD:
        raise OssError(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.")
    md5, checksum, size = hashlib.md5(), crc64.new(), 0
    try:
        with open(path, "wb") as file:
            async for chunk in request.content.iter_chunked(CHUNK):
                file.write(chunk)
                md5.update(chunk)
                checksum.update(chunk)
                size += len(chunk)
                if size > MAX_SINGLE_UPLOAD:
                    raise OssError(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.")
        received = Received(path, size, md5.digest(), checksum.crcValue)
        expected = request.headers.get("Content-MD5")
        if expected is not None and expected != base64.b64encode(received.md5).decode("ascii"):
            raise OssError(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
        return received
    except BaseException:
        path.unlink(missing_ok=True)
        raise


async def drain(request: web.Request) -> None:
    """Read and drop what is left of a body we refuse, so the client reads our error instead of
    a connection reset halfway through its upload."""
    try:
        while await request.content.readany():
            pass
    except Exception:   # the client went away: nothing left to answer
        pass


def copy_with_checksums(sources: list[tuple[Path, int, int]], target: Path) -> tuple[int, int]:
    """Concatenate byte ranges (path, offset, length) into `target`; returns (size, CRC-64)."""
    checksum, size = crc64.new(), 0
    with open(target, "wb") as out:
        for path, offset, length in sources:
            with open(path, "rb") as source:
                source.seek(offset)
                remaining = length
                while remaining:
                    chunk = source.read(min(CHUNK, remaining))
                    if not chunk:
                        break
                    out.write(chunk)
                    checksum.update(chunk)
                    size += len(chunk)
                    remaining -= len(chunk)
    return size, checksum.crcValue


class FileRangeResponse(web.StreamResponse):
    """Sends `length` bytes of a file from `offset` (headers only for HEAD), in chunks.

    The file is opened at once: an overwrite of the object that lands before the body is sent
    removes the old version's file, and an open file keeps its bytes readable."""

    def __init__(self, path: Path, offset: int, length: int, *, status: int, headers: dict):
        super().__init__(status=status, headers=headers)
        self.content_length = length
        self._file = open(path, "rb")
        self._offset, self._length = offset, length

    async def prepare(self, request):
        if self.prepared:
            return await super().prepare(request)
        try:
            writer = await super().prepare(request)
            if request.method != "HEAD":
                await self._send(asyncio.get_running_loop())
            return writer
        finally:
            self._file.close()

    async def _send(self, loop) -> None:
        self._file.seek(self._offset)
        remaining = self._length
        while remaining:
            chunk = await loop.run_in_executor(None, self._file.read, min(CHUNK, remaining))
            if not chunk:
                break
            await self.write(chunk)
            remaining -= len(chunk)
