"""Explicit states with transition tables (ZStack's VmInstanceState, HostState).

A resource's state changes only through ``StateMachine.next(current, event)``; an
event that the table does not allow raises ``InvalidState`` (HTTP 409) naming the
current state, never a silent write.
"""
from django.db import models

from .errors import InvalidState


class StateMachine:
    def __init__(self, name, transitions):
        """``transitions`` maps ``(from_state, event) -> to_state``."""
        self.name = name
        self.transitions = dict(transitions)

    def events(self, current):
        return sorted(event for (state, event) in self.transitions if state == current)

    def can(self, current, event):
        return (current, event) in self.transitions

    def next(self, current, event):
        try:
            return self.transitions[(current, event)]
        except KeyError:
            allowed = self.events(current)
            raise InvalidState(
                f"cannot {event} a {self.name} in state {current}",
                details={"state": current, "event": event, "allowed_events": allowed},
            ) from None


class EnableState(models.TextChoices):
    ENABLED = "Enabled"
    DISABLED = "Disabled"


# Zones and clusters: enable/disable, both idempotent (ZStack answers success when
# the resource already is in the asked state).
ENABLE_STATE_MACHINE = StateMachine(
    "resource",
    {
        (EnableState.ENABLED, "enable"): EnableState.ENABLED,
        (EnableState.ENABLED, "disable"): EnableState.DISABLED,
        (EnableState.DISABLED, "disable"): EnableState.DISABLED,
        (EnableState.DISABLED, "enable"): EnableState.ENABLED,
    },
)
