"""The Redis broker transport reuses one Redis client per channel (cloudportal/broker.py)."""
import uuid

import pytest
from kombu import Exchange, Queue

from cloudportal import broker
from cloudportal.celery import app


@pytest.fixture
def redis_broker():
    if not app.conf.broker_url.startswith("redis://"):
        pytest.skip("the broker is not Redis (zero-setup runs use the filesystem broker)")


def test_settings_select_the_transport_for_a_redis_broker(redis_broker):
    with app.connection_for_write() as conn:
        assert isinstance(conn.transport, broker.Transport)
        assert isinstance(conn.default_channel, broker.Channel)


def test_publishes_and_acks_share_one_client_and_every_message_arrives(redis_broker):
    name = f"test-broker-{uuid.uuid4().hex[:8]}"
    queue = Queue(name, Exchange(name, type="direct"), routing_key=name)
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        made = []
        real_client = channel.Client
        channel.Client = lambda **kwargs: made.append(1) or real_client(**kwargs)
        try:
            producer = conn.Producer(channel)
            for number in range(3):
                producer.publish({"n": number}, exchange=queue.exchange, routing_key=name, declare=[queue])
            received = []
            for _ in range(3):
                message = queue(channel).get(no_ack=False)
                received.append(message.payload["n"])
                message.ack()
            assert sorted(received) == [0, 1, 2]
            assert len(made) <= 1, made   # kombu's own channel makes one per publish and per ack
        finally:
            channel.Client = real_client
            queue(channel).delete()
