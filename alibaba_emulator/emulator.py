"""The Emulator: one per server. It owns the state (tables per account and region), the
AccessKeys, injected faults and throttles, quotas, stock and the timing of state transitions.
Action handlers, the admin API and the OSS module all work through it."""
import asyncio
import heapq
import itertools
import logging
import secrets
import time
import uuid

from .state import StateFile, empty_state

log = logging.getLogger("alibaba_emulator")

DEFAULT_TRANSITION_SECONDS = 3.0
# a burst of changing calls is written once, this long after the first of them
SAVE_DELAY_SECONDS = 0.05
# Quotas per account and region unless set through the admin API; names are max_<what>.
DEFAULT_QUOTAS = {"max_instances": 1000, "max_eips": 50, "max_vpcs": 50, "max_vswitches_per_vpc": 150,
                  "max_security_groups": 500, "max_disks": 3000, "max_images": 200}


class Fault:
    def __init__(self, http_status, code, message, times):
        self.http_status = http_status
        self.code = code
        self.message = message
        self.times = times


class Emulator:
    def __init__(self, state_dir, access_key_id, access_key_secret, demo_account="1688000000000001"):
        self.files = StateFile(state_dir)
        self.state_dir = self.files.dir
        self.data = self.files.load()
        self.demo_account = demo_account
        self.data["keys"][access_key_id] = {"secret": access_key_secret, "account": demo_account}
        self.faults = {}        # (product, action) -> [Fault]; in memory: a test sets them just before
        self.throttles = {}     # (product, action or "*") -> {"times", "retry_after"}
        self._timers = []       # heap of (at, seq, account, region, table, id) for timed transitions
        self._seq = itertools.count()
        self._save_timer = None
        self._index_transitions()
        self.settle()

    # --- keys and accounts ---------------------------------------------------------------
    def secret_for(self, access_key_id):
        key = self.data["keys"].get(access_key_id)
        return key["secret"] if key else None

    def account_for(self, access_key_id):
        key = self.data["keys"].get(access_key_id)
        return key["account"] if key else None

    def add_key(self, access_key_id, access_key_secret, account=None):
        account = account or "1688" + "".join(secrets.choice("0123456789") for _ in range(12))
        self.data["keys"][access_key_id] = {"secret": access_key_secret, "account": account}
        self.save()
        return account

    # --- time, ids -------------------------------------------------------------------------
    def now(self):
        return time.time()

    @staticmethod
    def request_id():
        return str(uuid.uuid4()).upper()

    @staticmethod
    def new_id(prefix, length=20):
        """A resource id shaped like Alibaba's: a prefix and lowercase letters and digits."""
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
        return prefix + "-" + "".join(secrets.choice(alphabet) for _ in range(length))

    # --- tables ---------------------------------------------------------------------------
    def table(self, account, region, name):
        """The table `name` of one account in one region: {id: record}, created on first use."""
        regions = self.data["accounts"].setdefault(account, {"regions": {}, "global": {}})["regions"]
        return regions.setdefault(region, {}).setdefault(name, {})

    def account_table(self, account, name):
        """A table not bound to a region (e.g. OSS buckets): {id: record}."""
        return self.data["accounts"].setdefault(account, {"regions": {}, "global": {}})["global"].setdefault(name, {})

    def regional_tables(self, name):
        """Every (account, region, table) holding `name`, e.g. to find a resource by id anywhere."""
        for account, tables in self.data["accounts"].items():
            for region, by_name in tables["regions"].items():
                if name in by_name:
                    yield account, region, by_name[name]

    def save(self):
        """Persist after a change: within SAVE_DELAY_SECONDS when serving (one write for a burst of
        calls: the whole state is rewritten each time), at once otherwise. flush() on stop."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        if self._save_timer is None:
            self._save_timer = loop.call_later(SAVE_DELAY_SECONDS, self.flush)

    def flush(self):
        if self._save_timer is not None:
            self._save_timer.cancel()
            self._save_timer = None
        self.files.save(self.data)

    def reset(self):
        """Empty the resources, quotas and stock; keys and timing stay."""
        keys, timing = self.data["keys"], self.data["timing"]
        self.data = empty_state()
        self.data["keys"], self.data["timing"] = keys, timing
        self.faults.clear()
        self.throttles.clear()
        self._timers = []
        self.save()

    # --- timed transitions ----------------------------------------------------------------
    @property
    def transition_seconds(self):
        return float(self.data["timing"].get("transition_seconds", DEFAULT_TRANSITION_SECONDS))

    def schedule(self, account, region, table, record_id, steps, seconds=None):
        """Apply each dict of `steps` to the record in turn, one every `seconds` (default: the
        configured transition time) from now. A step {"_delete": True} removes the record.
        Scheduling again replaces what was left of the previous plan."""
        record = self.table(account, region, table)[record_id]
        spacing = self.transition_seconds if seconds is None else seconds
        start = self.now()
        record["_transitions"] = [[start + spacing * (i + 1), dict(step)] for i, step in enumerate(steps)]
        for at, _ in record["_transitions"]:
            heapq.heappush(self._timers, (at, next(self._seq), account, region, table, record_id))

    def cancel_transitions(self, record):
        record.pop("_transitions", None)

    def settle(self):
        """Apply every transition that is due. Called before each request is answered, so a
        reader always sees the state the clock says; nothing runs in the background."""
        now = self.now()
        while self._timers and self._timers[0][0] <= now:
            _, _, account, region, table, record_id = heapq.heappop(self._timers)
            rows = self.data["accounts"].get(account, {}).get("regions", {}).get(region, {}).get(table, {})
            record = rows.get(record_id)
            if record is None:
                continue
            plan = record.get("_transitions") or []
            while plan and plan[0][0] <= now:
                _, changes = plan.pop(0)
                if changes.get("_delete"):
                    del rows[record_id]
                    break
                record.update(changes)
            else:
                if not plan:
                    record.pop("_transitions", None)

    def _index_transitions(self):
        for account, tables in self.data["accounts"].items():
            for region, by_name in tables["regions"].items():
                for table, rows in by_name.items():
                    for record_id, record in rows.items():
                        for at, _ in record.get("_transitions") or []:
                            heapq.heappush(self._timers, (at, next(self._seq), account, region, table, record_id))

    # --- quotas and stock -----------------------------------------------------------------
    def quota(self, account, region, name):
        per_account = self.data["quotas"].get(account, {})
        value = per_account.get(region, {}).get(name, per_account.get("*", {}).get(name))
        return DEFAULT_QUOTAS.get(name) if value is None else value

    def set_quotas(self, account, region, values):
        self.data["quotas"].setdefault(account, {}).setdefault(region or "*", {}).update(values)
        self.save()

    def in_stock(self, region, zone, instance_type):
        stock = self.data["stock"]
        for key in (f"{region}/{zone}/{instance_type}", f"{region}/{zone}/*", f"{region}/*/{instance_type}"):
            if key in stock:
                return stock[key]
        return True

    def set_stock(self, region, zone, instance_type, available):
        self.data["stock"][f"{region}/{zone or '*'}/{instance_type or '*'}"] = bool(available)
        self.save()

    # --- faults and throttling ------------------------------------------------------------
    def add_fault(self, product, action, http_status, code, message, times=1):
        self.faults.setdefault((product.lower(), action), []).append(Fault(http_status, code, message, times))

    def take_fault(self, product, action):
        queue = self.faults.get((product.lower(), action))
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.pop(0)
        return fault

    def add_throttle(self, product, action, times, retry_after):
        self.throttles[(product.lower(), action or "*")] = {"times": times, "retry_after": retry_after}

    def take_throttle(self, product, action):
        for key in ((product.lower(), action), (product.lower(), "*")):
            throttle = self.throttles.get(key)
            if throttle and throttle["times"] > 0:
                throttle["times"] -= 1
                if throttle["times"] <= 0:
                    del self.throttles[key]
                return float(throttle["retry_after"])
        return None
