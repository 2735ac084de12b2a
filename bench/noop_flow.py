"""What bench/flow_throughput.py runs on real workers (imported by them with ``-I bench.noop_flow``).

``bench-noop``: three steps that do nothing, so a job costs exactly the flow
engine's own work (claim, progress writes, events, finish). ``bench.noop``: a
Celery task that does nothing but say it ran (one Redis RPUSH), the ceiling of a
task round trip on the same broker and workers.
"""
import os
import time

from celery import shared_task

from apps.core.flows import FLOWS, Flow, NoRollback, RemoteStep

FLOW_NAME = "bench-noop"
DONE_KEY = "bench:noop:done:"  # + run id: a Redis list of "index finished_at" entries


class NoopOne(RemoteStep, NoRollback):
    def run(self, ctx):
        pass


class NoopTwo(RemoteStep, NoRollback):
    def run(self, ctx):
        pass


class NoopThree(RemoteStep, NoRollback):
    def run(self, ctx):
        pass


NOOP_FLOW = FLOWS.get(FLOW_NAME) or Flow(FLOW_NAME, [NoopOne, NoopTwo, NoopThree])

_redis = None


def _client():
    global _redis
    if _redis is None:
        import redis

        _redis = redis.Redis.from_url(os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
    return _redis


@shared_task(name="bench.noop", acks_late=True)
def noop(run_id, index):
    _client().rpush(DONE_KEY + run_id, f"{index} {time.time()}")


# --- prototypes of proposed engine changes (off unless BENCH_PROTOTYPE names them) -----------------
# They let bench/flow_throughput.py --prototype measure a proposal on real workers
# without touching apps/core/flows/. Never used outside the benchmark.


def _persistent_db():
    """Workers keep their database connection between tasks (CONN_MAX_AGE > 0):
    Celery's Django fixup otherwise closes it after every task (CONN_MAX_AGE=0)."""
    from django.db import connections

    for conn in connections.all():
        conn.settings_dict["CONN_MAX_AGE"] = 300
        conn.settings_dict["CONN_HEALTH_CHECKS"] = True


def _fewer_events(min_interval=0.25):
    """Publish a job event when its state changes, or when the last one of the job
    is older than ``min_interval``: a job whose steps take milliseconds sends
    running + finished instead of one event per step."""
    import threading

    from apps.core.flows import runner

    original = runner.publish_job
    last = {}
    lock = threading.Lock()

    def publish_job(job):
        now = time.monotonic()
        key = job.uuid
        with lock:
            state, when = last.get(key, (None, 0.0))
            if job.state == state and now - when < min_interval:
                return
            if job.state in ("succeeded", "failed", "cancelled"):
                last.pop(key, None)
            else:
                last[key] = (job.state, now)
        original(job)

    runner.publish_job = publish_job


PROTOTYPES = {"persistent_db": _persistent_db, "fewer_events": _fewer_events}
for _name in filter(None, os.environ.get("BENCH_PROTOTYPE", "").split(",")):
    PROTOTYPES[_name]()
