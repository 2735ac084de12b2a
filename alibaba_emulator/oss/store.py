"""Where OSS keeps buckets, objects and multipart uploads: files under `<state dir>/oss/`, with an
index in memory that is rebuilt from them at start, so a restarted emulator has everything back.

Layout (one directory per bucket; object files are named by a hash of the key because keys may be
1,023 bytes long and hold any character):

    oss/buckets/<bucket>/bucket.json
    oss/buckets/<bucket>/objects/<h[:2]>/<h>.json            metadata, including the key
    oss/buckets/<bucket>/objects/<h[:2]>/<h>.<version>.data  the bytes
    oss/buckets/<bucket>/uploads/<upload id>/upload.json
    oss/buckets/<bucket>/uploads/<upload id>/part-<n>.json, part-<n>.<version>.data
    oss/tmp/                                                 bodies being received

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


@dataclasses.dataclass
class BucketRecord:
    name: str
    account: str
    region: str
    storage_class: str
    acl: str
    redundancy: str
    created: float
    objects: dict = dataclasses.field(default_factory=dict)   # key -> ObjectRecord
    keys: list = dataclasses.field(default_factory=list)      # the same keys, sorted, for listing
    uploads: dict = dataclasses.field(default_factory=dict)   # upload id -> UploadRecord

    def saved_fields(self) -> dict:
        return {name: getattr(self, name) for name in
                ("name", "account", "region", "storage_class", "acl", "redundancy", "created")}


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _write_json(path: Path, value: dict) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(value, ensure_ascii=False))
    os.replace(temporary, path)


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


class OssStore:
    def __init__(self, root: Path):
        self.root = root
        self.buckets: dict[str, BucketRecord] = {}
        self.tmp = root / "tmp"
        self._load()

    # ---- paths ----
    def _bucket_dir(self, name: str) -> Path:
        return self.root / "buckets" / name

    def _object_dir(self, bucket: BucketRecord, key: str) -> Path:
        digest = _key_hash(key)
        return self._bucket_dir(bucket.name) / "objects" / digest[:2]

    def _upload_dir(self, bucket: BucketRecord, upload_id: str) -> Path:
        return self._bucket_dir(bucket.name) / "uploads" / upload_id

    def object_path(self, bucket: BucketRecord, record: ObjectRecord) -> Path:
        return self._object_dir(bucket, record.key) / record.data_file

    def part_path(self, bucket: BucketRecord, upload: UploadRecord, part: PartRecord) -> Path:
        return self._upload_dir(bucket, upload.upload_id) / part.data_file

    def new_temp_path(self) -> Path:
        self.tmp.mkdir(parents=True, exist_ok=True)
        return self.tmp / uuid.uuid4().hex

    # ---- buckets ----
    def bucket(self, name: str) -> BucketRecord | None:
        return self.buckets.get(name)

    def save_bucket(self, bucket: BucketRecord) -> None:
        directory = self._bucket_dir(bucket.name)
        directory.mkdir(parents=True, exist_ok=True)
        _write_json(directory / "bucket.json", bucket.saved_fields())
        self.buckets[bucket.name] = bucket

    def delete_bucket(self, bucket: BucketRecord) -> None:
        del self.buckets[bucket.name]
        shutil.rmtree(self._bucket_dir(bucket.name), ignore_errors=True)

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

    # ---- start-up ----
    def _load(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)   # bodies cut off by a stop
        for bucket_file in sorted((self.root / "buckets").glob("*/bucket.json")):
            bucket = BucketRecord(**json.loads(bucket_file.read_text()))
            self._load_objects(bucket, bucket_file.parent / "objects")
            for upload_file in (bucket_file.parent / "uploads").glob("*/upload.json"):
                self._load_upload(bucket, upload_file)
            bucket.keys = sorted(bucket.objects)
            self.buckets[bucket.name] = bucket

    def _load_objects(self, bucket: BucketRecord, objects_dir: Path) -> None:
        for shard in objects_dir.glob("*"):
            kept = set()
            for meta_file in shard.glob("*.json"):
                record = ObjectRecord(**json.loads(meta_file.read_text()))
                bucket.objects[record.key] = record
                kept.add(record.data_file)
            for data_file in shard.glob("*.data"):
                if data_file.name not in kept:    # a version replaced just before a stop
                    _remove(data_file)

    def _load_upload(self, bucket: BucketRecord, upload_file: Path) -> None:
        upload = UploadRecord(**json.loads(upload_file.read_text()))
        for part_file in upload_file.parent.glob("part-*.json"):
            part = PartRecord(**json.loads(part_file.read_text()))
            upload.parts[part.number] = part
        bucket.uploads[upload.upload_id] = upload


_stores: dict[Path, OssStore] = {}


def store_for(emulator) -> OssStore:
    """One store per state directory, loaded at its first use."""
    root = Path(emulator.state_dir).resolve() / "oss"
    store = _stores.get(root)
    if store is None:
        store = _stores[root] = OssStore(root)
    return store


def forget(emulator) -> None:
    """Empty OSS (the admin API's reset): the files go, the next call starts from nothing."""
    root = Path(emulator.state_dir).resolve() / "oss"
    _stores.pop(root, None)
    shutil.rmtree(root, ignore_errors=True)
