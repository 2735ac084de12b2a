from django.db import models


class Event(models.Model):
    """An event kept for the database relay (zero-setup mode, no Redis).

    Workers insert rows; each web process relays new rows to its websocket
    subscribers (apps.core.events.relay) and old rows are pruned.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    groups = models.JSONField(default=list)
    payload = models.JSONField(default=dict)

    class Meta:
        ordering = ["id"]
