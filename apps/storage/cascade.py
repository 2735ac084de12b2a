"""What deleting storage (or what it hangs off) does."""
from apps.accounts.models import Account
from apps.core.cascade import cascade
from apps.infra.models import Host, Zone

from .models import BackupStorage, Image, PrimaryStorage, Volume, VolumeSnapshot, VolumeSnapshotGroup

cascade(Zone).deletes(PrimaryStorage, via="zone")
cascade(PrimaryStorage).refuses(Volume, via="primary_storage")
cascade(Host).refuses(Volume, via="host")
cascade(BackupStorage).refuses(Image, via="backup_storage_refs__backup_storage")
# an account that owns images or volumes is not deleted: they go first, through their own flows
cascade(Account).refuses(Image, via="account")
cascade(Account).refuses(Volume, via="account")
# snapshots go with their volume (rows by the foreign key, files by hooks.remove_snapshot_files)
cascade(Account).refuses(VolumeSnapshot, via="account")
cascade(Account).refuses(VolumeSnapshotGroup, via="account")
