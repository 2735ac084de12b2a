from django.db import models


class GlobalConfig(models.Model):
    """The stored value of one registered global config (apps.core.globalconfig).

    Rows mirror the registry so the query DSL works on them; ``value`` is the
    JSON-encoded current value, read on every use so changes need no restart.
    """

    category = models.CharField(max_length=64)
    name = models.CharField(max_length=128)
    type = models.CharField(max_length=16)
    default_value = models.JSONField(null=True)
    value = models.JSONField(null=True)
    description = models.TextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category", "name"]
        constraints = [models.UniqueConstraint(fields=["category", "name"], name="globalconfig_unique")]

    class Query:
        fields = ["category", "name", "type", "description", "updated_at"]
        relations = []


class ResourceConfig(models.Model):
    """A per-resource override of a global config (ZStack's resource config)."""

    category = models.CharField(max_length=64)
    name = models.CharField(max_length=128)
    resource_type = models.CharField(max_length=64)
    resource_uuid = models.UUIDField()
    value = models.JSONField(null=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category", "name", "resource_uuid"]
        constraints = [
            models.UniqueConstraint(fields=["category", "name", "resource_uuid"], name="resourceconfig_unique")
        ]
