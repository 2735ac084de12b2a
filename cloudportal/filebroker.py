"""The zero-setup job queue: kombu's filesystem transport, woken by the kernel instead of a timer.

kombu's filesystem transport looks at its folder again one second after it found nothing there,
and also one second after its worker's pool was full: a job waited up to a second for a worker
even when one was free, and a worker with two pool slots ran about two jobs a second however short
they were. This transport keeps kombu's folder layout and message format, and:

- when it finds nothing to take, it waits on the queue folder (Linux inotify: the kernel says when
  a message is moved in) and on its own pool freeing a slot (its acknowledgements), with the
  polling interval only as a fallback (no inotify, a lost wake-up);
- it writes a message under a hidden temporary name and renames it into the queue folder, and
  takes one by renaming it into the processed folder: both atomic on one file system, so a reader
  never sees half a message and two workers never take the same one (kombu's copies a taken
  message to the system's temporary folder, which may be another file system).

Selected by ``CELERY_BROKER_TRANSPORT`` when no ``CELERY_BROKER_URL`` is set (settings); every
folder must be on one file system, as settings makes them (``$CLOUDPORTAL_DATA_DIR/celery-broker``).
"""
import ctypes
import os
import select
import socket
import time
import uuid
from queue import Empty

from kombu.transport import filesystem, virtual
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

IN_MOVED_TO = 0x80  # <sys/inotify.h>


def _watch(folder):
    """A non-blocking inotify descriptor that becomes readable when a file is moved into
    ``folder``; None where the system has no inotify."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    except (OSError, AttributeError):
        return None
    if fd < 0:
        return None
    if libc.inotify_add_watch(fd, os.fsencode(folder), IN_MOVED_TO) < 0:
        os.close(fd)
        return None
    return fd


def _drain(fd):
    try:
        while os.read(fd, 65536):
            pass
    except (BlockingIOError, InterruptedError):
        pass


class QoS(virtual.QoS):
    """Wakes the transport's wait when a delivered message is settled: the pool has a free slot."""

    def ack(self, delivery_tag):
        super().ack(delivery_tag)
        self.channel.connection.wake()

    def reject(self, delivery_tag, requeue=False):
        super().reject(delivery_tag, requeue=requeue)
        self.channel.connection.wake()


class Channel(filesystem.Channel):
    QoS = QoS

    def _put(self, queue, payload, **kwargs):
        # named by time (zero-padded, so names sort in sending order) as kombu names them
        name = f"{time.monotonic_ns() // 1000:016d}_{uuid.uuid4()}.{queue}.msg"
        hidden = os.path.join(self.data_folder_out, f".{name}.tmp")  # not a message until renamed
        with open(hidden, "wb") as f:
            f.write(str_to_bytes(dumps(payload)))
        os.rename(hidden, os.path.join(self.data_folder_out, name))

    def _get(self, queue):
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            taken = os.path.join(self.processed_folder, name)
            try:
                os.rename(os.path.join(self.data_folder_in, name), taken)
            except FileNotFoundError:
                continue  # another worker took it first
            try:
                with open(taken, "rb") as f:
                    payload = f.read()
            finally:
                if not self.store_processed:
                    os.unlink(taken)
            return loads(bytes_to_str(payload))
        raise Empty()


class Transport(filesystem.Transport):
    Channel = Channel
    # only a fallback: a message moved in or a freed pool slot ends the wait at once
    polling_interval = 1.0
    polling_interval_unwatched = 0.05  # where there is no inotify

    def __init__(self, client, **kwargs):
        super().__init__(client, **kwargs)
        self._wake = None  # (read, write) ends of a pipe; made by the first wait (consumers only)
        self._watched = None  # the queue folder's inotify descriptor (-1: none), made before the first look

    def wake(self):
        """End a wait in ``drain_events`` now (callable from any thread)."""
        if self._wake is not None:
            try:
                os.write(self._wake[1], b"\0")
            except OSError:
                pass  # a wake-up is already pending, or the transport was just closed

    def drain_events(self, connection, timeout=None):
        if self._wake is None:  # kept for the transport's life: wake() may run in another thread
            self._wake = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        if self._watched is None:
            watched = _watch(self.client.transport_options.get("data_folder_in", "data_in"))
            self._watched = -1 if watched is None else watched
        fds = [self._wake[0]] + ([self._watched] if self._watched >= 0 else [])
        interval = self.polling_interval if self._watched >= 0 else self.polling_interval_unwatched
        started = time.monotonic()
        while True:
            try:
                self.cycle.get(self._deliver, timeout=timeout)
                return
            except Empty:
                pass
            wait = interval
            if timeout is not None:
                left = timeout - (time.monotonic() - started)
                if left <= 0:
                    raise socket.timeout()
                wait = min(wait, left)
            ready, _, _ = select.select(fds, [], [], wait)
            for fd in ready:
                _drain(fd)

    def close_connection(self, connection):
        super().close_connection(connection)
        if self._watched is not None and self._watched >= 0:
            os.close(self._watched)
        self._watched = None
