"""What goes with a VM or an account: its schedules, rules and endpoints."""
from apps.accounts.models import Account
from apps.compute.models import VmInstance
from apps.core.cascade import cascade

from .models import AlarmRule, NotificationEndpoint, VmSchedule

cascade(VmInstance).deletes(VmSchedule, via="vm")   # a schedule means nothing without its VM
cascade(Account).deletes(AlarmRule, via="account")
cascade(Account).deletes(NotificationEndpoint, via="account")
