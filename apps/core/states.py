"""Explicit states with transition tables (ZStack's VmInstanceState, HostState).

A resource's state changes only through ``StateMachine.next(current, event)``; an
event that the table does not allow raises ``InvalidState`` (HTTP 409) naming the
current state, never a silent write.
"""
from django.db import models

from .errors import InvalidState


class StateMachine:
    def __init__(self, name, transitions, actions=None):
        """``transitions`` maps ``(from_state, event) -> to_state``; ``actions`` maps the API's
        action names to the events they fire (``{"stop": "stopping"}``), so that a refusal speaks
        the API's words. Without it every event is an action of the same name."""
        self.name = name
        self.transitions = dict(transitions)
        self.actions = dict(actions) if actions is not None else {e: e for (_, e) in self.transitions}

    def events(self, current):
        return sorted(event for (state, event) in self.transitions if state == current)

    def allowed_actions(self, current):
        """The API actions a resource in state ``current`` accepts."""
        return sorted(action for action, event in self.actions.items() if self.can(current, event))

    def can(self, current, event):
        return (current, event) in self.transitions

    def next(self, current, event, action=None):
        """The state ``event`` leads to from ``current``, else InvalidState (409). ``action``: the
        API action that fired it, when several fire the same event (VM stop and power-off)."""
        try:
            return self.transitions[(current, event)]
        except KeyError:
            raise self.refusal(current, event, action) from None

    def refusal(self, current, event, action=None):
        if action is None:
            named = [name for name, fired in self.actions.items() if fired == event]
            action = named[0] if len(named) == 1 else None
        details = {"state": current, "allowed_actions": self.allowed_actions(current)}
        if action is not None:
            return InvalidState(f"cannot {action} a {self.name} in state {current}", details={"action": action, **details})
        # an event of the portal's own (a state sync, a flow's last step), not an API action
        return InvalidState(f"a {self.name} in state {current} cannot be marked {event}",
                            details={"event": event, **details})


class EnableState(models.TextChoices):
    ENABLED = "Enabled"
    DISABLED = "Disabled"


# Zones and clusters: enable/disable, both idempotent (ZStack answers success when
# the resource already is in the asked state).
ENABLE_STATE_MACHINE = StateMachine(
    "resource",
    transitions={
        (EnableState.ENABLED, "enable"): EnableState.ENABLED,
        (EnableState.ENABLED, "disable"): EnableState.DISABLED,
        (EnableState.DISABLED, "disable"): EnableState.DISABLED,
        (EnableState.DISABLED, "enable"): EnableState.ENABLED,
    },
)
