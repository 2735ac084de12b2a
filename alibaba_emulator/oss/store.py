"""Where OSS keeps buckets, objects and multipart uploads.

A bucket is a record in its owner's account-wide table `buckets` of the emulator's state (so
`GET /_emulator/state` shows it, `POST /_emulator/reset` empties it and state.json keeps it);
what it holds is files under `<state dir>/oss/`, with an index in memory rebuilt from them, so a
restarted emulator has everything back. Each bucket's directory is named for one creation of it
(`<bucket>.<generation>`): a directory no record names any more (the bucket was deleted, or the
state reset) is removed.

Layout (object files are named by a hash of the key: keys may be 1,023 bytes and hold any character):

    oss/buckets/<dir>/objects/<h[:2]>/<h>.json            metadata, including the key
    oss/buckets/<dir>/objects/<h[:2]>/<h>.<version>.data  the bytes
    oss/buckets/<dir>/uploads/<upload id>/upload.json
    oss/buckets/<dir>/uploads/<upload id>/part-<n>.json, part-<n>.<version>.data
    oss/tmp/                                              bodies being received

Bytes are written to `tmp/` first and renamed into place, then the metadata is replaced
atomically and only then the previous version's bytes are removed: a crash never leaves metadata
pointing at half a file."""
import bisect
import dataclasses
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path


@dataclasses.dataclass
class ObjectRecord:
    key: str
    size: int
    etag: str               # without quotes, upper-case hex (plus "-<parts>" for multipart objects)
    crc64: int
    last_modified: float
    content_type: str
    object_type: str        # Normal | Multipart
    storage_class: str
    data_file: str
    content_md5: str = ""   # base64, for objects uploaded in one piece
    headers: dict = dataclasses.field(default_factory=dict)   # Cache-Control, Content-Disposition, ...
    meta: dict = dataclasses.field(default_factory=dict)      # x-oss-meta-*, names lower-case


@dataclasses.dataclass
class PartRecord:
    number: int
    size: int
    etag: str
    crc64: int
    md5_digest_hex: str
    last_modified: float
    data_file: str


@dataclasses.dataclass
class UploadRecord:
    upload_id: str
    key: str
    initiated: float
    content_type: str
    storage_class: str
    headers: dict = dataclasses.field(default_factory=dict)
    meta: dict = dataclasses.field(default_factory=dict)
    parts: dict = dataclasses.field(default_factory=dict)     # part number -> PartRecord


TABLE = "buckets"


class Contents:
    """What a bucket holds, as indexed in memory."""

    def __init__(self):
        self.objects: dict[str, ObjectRecord] = {}
        self.keys: list[str] = []           # the same keys, sorted, for listing
        self.uploads: dict[str, UploadRecord] = {}


class BucketRecord:
    """A bucket: its record in the state (the API's names, as GetBucketInfo answers them) and
    its contents."""

    def __init__(self, account: str, record: dict, contents: Contents):
        self.account = account
        self.record = record
        self.objects = contents.objects
        self.keys = contents.keys
        self.uploads = contents.uploads

    name = property(lambda self: self.record["Name"])
    region = property(lambda self: self.record["Region"])
    storage_class = property(lambda self: self.record["StorageClass"])
    redundancy = property(lambda self: self.record["DataRedundancyType"])
    created = property(lambda self: self.record["_created"])
    directory = property(lambda self: self.record["_dir"])

    @property
    def acl(self) -> str:
        return self.record["Acl"]

    @acl.setter
    def acl(self, value: str) -> None:
        self.record["Acl"] = value


def new_bucket_record(name: str, region: str, storage_class: str, acl: str, redundancy: str,
                      created: float, creation_date: str) -> dict:
    return {"Name": name, "Region": region, "Location": f"oss-{region}", "StorageClass": storage_class,
            "Acl": acl, "DataRedundancyType": redundancy, "CreationDate": creation_date,
            "ExtranetEndpoint": f"oss-{region}.aliyuncs.com",
            "IntranetEndpoint": f"oss-{region}-internal.aliyuncs.com",
            "_created": created, "_dir": f"{name}.{uuid.uuid4().hex[:12]}"}


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _write_json(path: Path, value: dict) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, path)


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


class OssStore:
    def __init__(self, emulator):
        self.emulator = emulator
        self.root = Path(emulator.state_dir).resolve() / "oss"
        self.tmp = self.root / "tmp"
        self._contents: dict[str, Contents] = {}     # bucket directory -> its index, loaded on use
        self._state = None
        shutil.rmtree(self.tmp, ignore_errors=True)   # bodies cut off by a stop

    def follow_state(self) -> None:
        """Called before each request: after a reset (the emulator's state is a new object), the
        files of buckets the state no longer has are removed."""
        if self._state is self.emulator.data:
            return
        self._state = self.emulator.data
        kept = {record["_dir"] for _, record in self._records()}
        self._contents = {directory: contents for directory, contents in self._contents.items()
                          if directory in kept}
        for directory in (self.root / "buckets").glob("*"):
            if directory.name not in kept:
                shutil.rmtree(directory, ignore_errors=True)

    # ---- paths ----
    def _bucket_dir(self, bucket: BucketRecord) -> Path:
        return self.root / "buckets" / bucket.directory

    def _object_dir(self, bucket: BucketRecord, key: str) -> Path:
        return self._bucket_dir(bucket) / "objects" / _key_hash(key)[:2]

    def _upload_dir(self, bucket: BucketRecord, upload_id: str) -> Path:
        return self._bucket_dir(bucket) / "uploads" / upload_id

    def object_path(self, bucket: BucketRecord, record: ObjectRecord) -> Path:
        return self._object_dir(bucket, record.key) / record.data_file

    def part_path(self, bucket: BucketRecord, upload: UploadRecord, part: PartRecord) -> Path:
        return self._upload_dir(bucket, upload.upload_id) / part.data_file

    def new_temp_path(self) -> Path:
        self.tmp.mkdir(parents=True, exist_ok=True)
        return self.tmp / uuid.uuid4().hex

    # ---- buckets ----
    def _records(self):
        """(account, record) of every bucket of every account: names are global."""
        for account, tables in self.emulator.data["accounts"].items():
            for record in tables.get("global", {}).get(TABLE, {}).values():
                yield account, record

    def _wrap(self, account: str, record: dict) -> BucketRecord:
        contents = self._contents.get(record["_dir"])
        if contents is None:
            contents = self._contents[record["_dir"]] = self._load(self.root / "buckets" / record["_dir"])
        return BucketRecord(account, record, contents)

    def bucket(self, name: str) -> BucketRecord | None:
        for account, record in self._records():
            if record["Name"] == name:
                return self._wrap(account, record)
        return None

    def buckets_of(self, account: str) -> list[BucketRecord]:
        # Read without account_table(), which would add an empty account to the state.
        table = self.emulator.data["accounts"].get(account, {}).get("global", {}).get(TABLE, {})
        return [self._wrap(account, table[name]) for name in sorted(table)]

    def add_bucket(self, account: str, record: dict) -> BucketRecord:
        self.emulator.account_table(account, TABLE)[record["Name"]] = record
        bucket = self._wrap(account, record)
        self._bucket_dir(bucket).mkdir(parents=True, exist_ok=True)
        self.emulator.save()
        return bucket

    def save_bucket(self, bucket: BucketRecord) -> None:
        self.emulator.save()

    def delete_bucket(self, bucket: BucketRecord) -> None:
        del self.emulator.account_table(bucket.account, TABLE)[bucket.name]
        self.emulator.save()
        self._contents.pop(bucket.directory, None)
        shutil.rmtree(self._bucket_dir(bucket), ignore_errors=True)

    # ---- objects ----
    def put_object(self, bucket: BucketRecord, record: ObjectRecord, received: Path) -> None:
        """Move the received bytes into place and make `record` the object's current version."""
        directory = self._object_dir(bucket, record.key)
        directory.mkdir(parents=True, exist_ok=True)
        digest = _key_hash(record.key)
        record.data_file = f"{digest}.{uuid.uuid4().hex[:12]}.data"
        os.replace(received, directory / record.data_file)
        previous = bucket.objects.get(record.key)
        _write_json(directory / f"{digest}.json", dataclasses.asdict(record))
        if previous is None:
            bisect.insort(bucket.keys, record.key)
        else:
            _remove(directory / previous.data_file)
        bucket.objects[record.key] = record

    def delete_object(self, bucket: BucketRecord, key: str) -> bool:
        record = bucket.objects.pop(key, None)
        if record is None:
            return False
        directory = self._object_dir(bucket, key)
        _remove(directory / f"{_key_hash(key)}.json")
        _remove(directory / record.data_file)
        del bucket.keys[bisect.bisect_left(bucket.keys, key)]
        return True

    # ---- multipart uploads ----
    def save_upload(self, bucket: BucketRecord, upload: UploadRecord) -> None:
        directory = self._upload_dir(bucket, upload.upload_id)
        directory.mkdir(parents=True, exist_ok=True)
        fields = dataclasses.asdict(upload)
        del fields["parts"]
        _write_json(directory / "upload.json", fields)
        bucket.uploads[upload.upload_id] = upload

    def put_part(self, bucket: BucketRecord, upload: UploadRecord, part: PartRecord, received: Path) -> None:
        directory = self._upload_dir(bucket, upload.upload_id)
        part.data_file = f"part-{part.number}.{uuid.uuid4().hex[:12]}.data"
        os.replace(received, directory / part.data_file)
        previous = upload.parts.get(part.number)
        _write_json(directory / f"part-{part.number}.json", dataclasses.asdict(part))
        if previous is not None:
            _remove(directory / previous.data_file)
        upload.parts[part.number] = part

    def delete_upload(self, bucket: BucketRecord, upload: UploadRecord) -> None:
        bucket.uploads.pop(upload.upload_id, None)
        shutil.rmtree(self._upload_dir(bucket, upload.upload_id), ignore_errors=True)

    # ---- loading a bucket's index from its files ----
    def _load(self, bucket_dir: Path) -> Contents:
        contents = Contents()
        for shard in (bucket_dir / "objects").glob("*"):
            kept = set()
            for meta_file in shard.glob("*.json"):
                record = ObjectRecord(**json.loads(meta_file.read_text(encoding="utf-8")))
                contents.objects[record.key] = record
                kept.add(record.data_file)
            for data_file in shard.glob("*.data"):
                if data_file.name not in kept:    # a version replaced just before a stop
                    _remove(data_file)
        contents.keys = sorted(contents.objects)
        for upload_file in (bucket_dir / "uploads").glob("*/upload.json"):
            upload = UploadRecord(**json.loads(upload_file.read_text(encoding="utf-8")))
            for part_file in upload_file.parent.glob("part-*.json"):
                part = PartRecord(**json.loads(part_file.read_text(encoding="utf-8")))
                upload.parts[part.number] = part
            contents.uploads[upload.upload_id] = upload
        return contents


# One store per emulator (the admin API's reset keeps the emulator and replaces its state).
_stores: dict[int, tuple[object, OssStore]] = {}


def store_for(emulator) -> OssStore:
    held = _stores.get(id(emulator))
    if held is None or held[0] is not emulator:
        held = _stores[id(emulator)] = (emulator, OssStore(emulator))
    store = held[1]
    store.follow_state()
    return store
