"""The emulator's state: resource tables per account and region, kept as plain JSON-able dicts
and written to `state.json` atomically (temp file + rename) so a restart keeps everything.

Layout of the file:
    {"accounts": {UID: {"regions": {REGION: {TABLE: {ID: record}}}, "global": {TABLE: {ID: record}}}},
     "keys": {AK: {"secret", "account"}}, "quotas": {UID: {REGION: {NAME: n}}},
     "stock": {"REGION/ZONE/TYPE": false}, "timing": {"transition_seconds": s}, "tokens": {...}}
A record holds the resource's fields in the API's PascalCase, as Describe* answers them; keys
starting with "_" are the emulator's own (timed transitions, idempotency) and never answered.
"""
import json
import os
import tempfile
from pathlib import Path


def empty_state():
    return {"accounts": {}, "keys": {}, "quotas": {}, "stock": {}, "timing": {}, "tokens": {}}


class StateFile:
    def __init__(self, state_dir):
        self.dir = Path(state_dir)
        self.path = self.dir / "state.json"

    def load(self):
        try:
            with open(self.path, encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            return empty_state()
        for key, value in empty_state().items():
            data.setdefault(key, value)
        return data

    def save(self, data):
        self.dir.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".state.", suffix=".json", dir=self.dir)
        try:
            # json.dumps (C encoder) then one write: json.dump to a file encodes in Python, ~5x slower
            text = json.dumps(data, separators=(",", ":"))
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(temp, self.path)
        except BaseException:
            try:
                os.unlink(temp)
            except FileNotFoundError:
                pass
            raise


def public(record):
    """A record as the API answers it: without the emulator's own "_" keys."""
    return {k: v for k, v in record.items() if not k.startswith("_")}
