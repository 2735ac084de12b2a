"""The zero-setup broker transport (cloudportal/filebroker.py): a consumer is woken when a message
arrives or its pool frees a slot, instead of looking again a second later."""
import sys
import threading
import time
import uuid

import pytest
from kombu import Connection, Consumer, Exchange, Producer, Queue

from cloudportal import filebroker

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")


def _connection(folder):
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(exist_ok=True)
    return Connection("filesystem://", transport=filebroker.Transport, transport_options={
        "data_folder_in": str(folder / "queue"), "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"), "control_folder": str(folder / "control")})


def _queue(folder):
    # kombu keeps declared bindings in memory for every filesystem connection of a process: a name
    # of each test's own, or a binding made in another test's folder is taken as made in this one
    name = f"jobs-{uuid.uuid5(uuid.NAMESPACE_URL, str(folder)).hex[:12]}"
    return Queue(name, Exchange(name, type="direct"), routing_key=name)


def _publish(folder, *bodies):
    queue = _queue(folder)
    with _connection(folder) as conn:
        producer = Producer(conn.channel())
        for body in bodies:
            producer.publish(body, exchange=queue.exchange, routing_key=queue.routing_key, declare=[queue])


class Received:
    """A consumer on its own connection, draining in a thread as a Celery worker's loop does."""

    def __init__(self, folder, prefetch=None, ack=True):
        self.conn = _connection(folder)
        self.channel = self.conn.channel()
        if prefetch:
            self.channel.basic_qos(0, prefetch, False)
        self.messages, self.at, self.ack = [], [], ack
        self.consumer = Consumer(self.channel, [_queue(folder)], callbacks=[self._got])
        self.consumer.consume()
        self.stop = False
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _got(self, body, message):
        self.messages.append(message)
        self.at.append(time.monotonic())
        if self.ack:
            message.ack()

    def _drain(self):
        while not self.stop:
            try:
                self.conn.drain_events(timeout=2.0)  # as Celery's worker loop asks
            except TimeoutError:
                pass

    def wait_for(self, count, timeout=5):
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.005)
        return len(self.messages) >= count

    def close(self):
        self.stop = True
        self.thread.join(5)
        self.conn.close()


def test_settings_select_the_transport_when_no_broker_is_configured(settings):
    from cloudportal.celery import app

    if not app.conf.broker_url.startswith("filesystem://"):
        pytest.skip("a broker server is configured")
    with app.connection_for_write() as conn:
        assert isinstance(conn.transport, filebroker.Transport)


def test_a_waiting_consumer_gets_a_message_at_once(tmp_path):
    consumer = Received(tmp_path)
    try:
        time.sleep(0.3)  # the consumer found nothing and waits
        sent = time.monotonic()
        _publish(tmp_path, {"n": 1})
        assert consumer.wait_for(1)
        # kombu's filesystem transport looks again 1 s after it found nothing
        assert consumer.at[0] - sent < 0.25
    finally:
        consumer.close()


def test_a_freed_pool_slot_takes_the_next_message_at_once(tmp_path):
    """One slot (prefetch 1, acknowledged late as Celery's tasks are): the second message is taken
    as soon as the first is acknowledged from another thread, not at the next poll."""
    consumer = Received(tmp_path, prefetch=1, ack=False)
    try:
        _publish(tmp_path, {"n": 1}, {"n": 2})
        assert consumer.wait_for(1)
        time.sleep(0.3)  # the slot is taken: the consumer waits
        assert len(consumer.messages) == 1
        acked = time.monotonic()
        consumer.messages[0].ack()  # the pool's result thread acknowledges
        assert consumer.wait_for(2)
        assert consumer.at[1] - acked < 0.25
        consumer.messages[1].ack()
    finally:
        consumer.close()


def test_two_consumers_never_take_the_same_message(tmp_path):
    first, second = Received(tmp_path), Received(tmp_path)
    try:
        _publish(tmp_path, *[{"n": n} for n in range(300)])
        deadline = time.monotonic() + 20
        while len(first.messages) + len(second.messages) < 300 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        got = [m.payload["n"] for m in first.messages + second.messages]
        assert sorted(got) == list(range(300))
        assert not list((tmp_path / "queue").iterdir()) and not list((tmp_path / "processed").iterdir())
    finally:
        first.close()
        second.close()


def test_messages_are_taken_in_the_order_they_were_sent(tmp_path):
    _publish(tmp_path, *[{"n": n} for n in range(50)])
    consumer = Received(tmp_path)
    try:
        assert consumer.wait_for(50)
        assert [m.payload["n"] for m in consumer.messages] == list(range(50))
    finally:
        consumer.close()
