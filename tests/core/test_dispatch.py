"""A job goes to the workers through the broker: ``dispatch`` (the configured broker,
Redis in CI, the filesystem transport in zero-setup runs)."""
import uuid

import pytest
from kombu import Queue
from kombu.messaging import Producer

from apps.core.flows.jobs import dispatch
from cloudportal.celery import app


@pytest.fixture
def private_queue():
    """Jobs dispatched by the test go to a queue of its own (not eager), deleted afterwards."""
    name = f"test-dispatch-{uuid.uuid4().hex[:8]}"
    previous = (app.conf.task_always_eager, app.conf.task_default_queue)
    app.conf.task_always_eager, app.conf.task_default_queue = False, name
    try:
        yield name
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue = previous
        with app.connection_for_write() as conn:
            Queue(name)(conn.default_channel).delete()


def test_every_job_arrives_and_its_queue_is_declared_with_the_first_only(private_queue, monkeypatch):
    declared = []
    real = Producer.maybe_declare
    monkeypatch.setattr(Producer, "maybe_declare", lambda self, entity, *a, **k: (
        declared.append(entity.name), real(self, entity, *a, **k))[1])
    jobs = [uuid.uuid4() for _ in range(3)]
    for job_uuid in jobs:
        dispatch(job_uuid)

    assert declared == [private_queue]  # Celery alone declares it with every message
    with app.connection_for_write() as conn:
        queue = Queue(private_queue)(conn.default_channel)
        received = []
        for _ in jobs:
            message = queue.get(no_ack=True)
            assert message is not None, f"only {received} arrived"
            received.append(message.payload[0][0])  # task protocol 2: (args, kwargs, embed)
            assert message.headers["task"] == "apps.core.flows.tasks.run_job"
    assert received == [str(u) for u in jobs]
