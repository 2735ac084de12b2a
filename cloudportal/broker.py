"""The Redis broker transport, with one Redis client per channel instead of one per command.

kombu's Redis channel makes a new ``redis.Redis`` client (on the channel's shared connection
pool) for every message it publishes and every delivery it acknowledges: building one sets up
its response callbacks, about 0.15-0.3 ms of CPU, several times per job (the web's publish, the
worker's bookkeeping of unacknowledged messages and its ack). A client is only a front to the
pool and is safe to share between threads (each command takes a connection from the pool), so
the channel keeps one, and makes a new one when kombu replaces the pool (after a connection
error). Selected by ``CELERY_BROKER_TRANSPORT`` for ``redis://`` brokers (settings).
"""
from kombu.transport import redis


class Channel(redis.Channel):
    _reused_client = None

    def _create_client(self, asynchronous=False):
        if asynchronous:  # the event loop's own clients (BRPOP, pub/sub): kombu keeps those already
            return super()._create_client(asynchronous=True)
        pool = self.pool
        client = self._reused_client
        if client is None or client.connection_pool is not pool:
            client = self._reused_client = super()._create_client()
        return client


class Transport(redis.Transport):
    Channel = Channel
