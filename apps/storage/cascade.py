"""What deleting storage (or what it hangs off) does."""
from apps.compute.models import Host, Zone
from apps.core.cascade import cascade

from .models import BackupStorage, Image, PrimaryStorage, Volume

cascade(Zone).deletes(PrimaryStorage, via="zone")
cascade(PrimaryStorage).refuses(Volume, via="primary_storage")
cascade(Host).refuses(Volume, via="host")
cascade(BackupStorage).refuses(Image, via="backup_storage_refs__backup_storage")
