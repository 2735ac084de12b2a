from .audit import AuditLog, ChangeLog
from .base import RESOURCE_TYPES, Resource, resource_model
from .config import GlobalConfig, ResourceConfig
from .event import Event
from .job import FINISHED_STATES, Job, JobState
from .tag import Tag, TagType

__all__ = [
    "AuditLog", "ChangeLog", "Event", "FINISHED_STATES", "GlobalConfig", "Job", "JobState",
    "RESOURCE_TYPES", "Resource", "ResourceConfig", "Tag", "TagType", "resource_model",
]
