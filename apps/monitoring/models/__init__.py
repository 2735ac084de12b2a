from .alarms import (Aggregation, Alarm, AlarmHistory, AlarmRule, AlarmState, Comparison, EventCursor, EventType,
                     ResourceKind, RuleKind)
from .notify import Delivery, DeliveryState, EndpointType, NotificationEndpoint
from .points import RESOLUTIONS, CollectorRun, MetricCursor, MetricPoint
from .schedules import ScheduleAction, ScheduleRun, VmSchedule

__all__ = ["RESOLUTIONS", "Aggregation", "Alarm", "AlarmHistory", "AlarmRule", "AlarmState", "CollectorRun",
           "Comparison", "Delivery", "DeliveryState", "EndpointType", "EventCursor", "EventType", "MetricCursor",
           "MetricPoint", "NotificationEndpoint", "ResourceKind", "RuleKind", "ScheduleAction", "ScheduleRun",
           "VmSchedule"]
