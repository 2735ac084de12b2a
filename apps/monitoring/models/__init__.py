from .alarms import (Aggregation, Alarm, AlarmHistory, AlarmRule, AlarmState, Comparison, EventCursor, EventType,
                     ResourceKind, RuleKind)
from .notify import Delivery, DeliveryState, EndpointType, NotificationEndpoint
from .schedules import ScheduleAction, ScheduleRun, VmSchedule

__all__ = ["Aggregation", "Alarm", "AlarmHistory", "AlarmRule", "AlarmState", "Comparison", "Delivery",
           "DeliveryState", "EndpointType", "EventCursor", "EventType", "NotificationEndpoint", "ResourceKind",
           "RuleKind", "ScheduleAction", "ScheduleRun", "VmSchedule"]
