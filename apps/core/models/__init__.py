from .audit import AuditLog, ChangeLog
from .base import RESOURCE_TYPES, Resource, resource_model
from .config import GlobalConfig, ResourceConfig
from .event import Event
from .job import FINISHED_STATES, Job, JobState
from .querysets import FastQuerySet, ResourceQuerySet, compiled, kept, retry_on_lock_conflict
from .tag import Tag, TagType

__all__ = [
    "AuditLog", "ChangeLog", "Event", "FINISHED_STATES", "FastQuerySet", "GlobalConfig", "Job", "JobState",
    "RESOURCE_TYPES", "Resource", "ResourceConfig", "ResourceQuerySet", "Tag", "TagType", "compiled", "kept",
    "resource_model", "retry_on_lock_conflict",
]
