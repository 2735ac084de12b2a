"""The built-in rules: the infrastructure events every cloud wants watched. They belong to no
account (admins see and change them); an admin mutes one (``muted``) or gives it endpoints."""
from .models import AlarmRule, EventType, RuleKind

BUILTIN_RULES = {
    "host-disconnected": ("Host disconnected", EventType.HOST_DISCONNECTED,
                          "A host stopped answering its pings; resolved when it is Connected again."),
    "primary-storage-disconnected": ("Primary storage disconnected", EventType.PRIMARY_STORAGE_DISCONNECTED,
                                     "No host that reaches a primary storage is Connected; resolved when one is."),
    "backup-storage-disconnected": ("Backup storage disconnected", EventType.BACKUP_STORAGE_DISCONNECTED,
                                    "A backup storage cannot be used; resolved when its check passes again."),
}


def ensure_builtin_rules(**kwargs):
    """Make the built-in rules that are missing (after migrate, and before an event they watch)."""
    have = set(AlarmRule.objects.filter(builtin__in=list(BUILTIN_RULES)).values_list("builtin", flat=True))
    for key, (name, event_type, description) in BUILTIN_RULES.items():
        if key not in have:
            AlarmRule.objects.get_or_create(builtin=key, defaults={
                "name": name, "description": description, "kind": RuleKind.EVENT, "event_type": event_type})
