"""The admin API under /_emulator/ (JSON, no signature, loopback clients only): tests and demos
inject faults and throttling, set quotas, stock and timing, read and reset the state, add keys."""
import ipaddress
import json

from aiohttp import web


def _json(payload, status=200):
    return web.Response(status=status, body=json.dumps(payload).encode(), content_type="application/json")


def _problem(status, code, message):
    return _json({"code": code, "message": message, "details": {}}, status)


def _is_loopback(remote):
    try:
        return ipaddress.ip_address((remote or "").split("%")[0]).is_loopback
    except ValueError:
        return False


async def _body(request):
    raw = await request.read()
    if not raw:
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def _required(data, *names):
    missing = [n for n in names if data.get(n) in (None, "")]
    if missing:
        raise ValueError(f"missing: {', '.join(missing)}")


def health(emulator, request, data):
    return {"ok": True}


def add_key(emulator, request, data):
    _required(data, "access_key_id", "access_key_secret")
    account = emulator.add_key(data["access_key_id"], data["access_key_secret"], data.get("account"))
    return {"access_key_id": data["access_key_id"], "account": account}


def delete_key(emulator, request, data):
    _required(data, "access_key_id")
    if emulator.data["keys"].pop(data["access_key_id"], None) is None:
        raise ValueError(f"no key {data['access_key_id']}")
    emulator.save()
    return {"ok": True}


def add_fault(emulator, request, data):
    _required(data, "product", "action", "code")
    emulator.add_fault(data["product"], data["action"], int(data.get("http_status", 500)), data["code"],
                       data.get("message") or f"Injected fault {data['code']}.", int(data.get("times", 1)))
    return {"ok": True}


def add_throttle(emulator, request, data):
    _required(data, "product")
    emulator.add_throttle(data["product"], data.get("action") or "*", int(data.get("times", 1)),
                          float(data.get("retry_after", 1)))
    return {"ok": True}


def set_quotas(emulator, request, data):
    account = data.get("account") or emulator.demo_account
    values = {k: int(v) for k, v in data.items() if k.startswith("max_")}
    if not values:
        raise ValueError("no max_* quota given")
    emulator.set_quotas(account, data.get("region"), values)
    return {"ok": True}


def set_stock(emulator, request, data):
    _required(data, "region")
    emulator.set_stock(data["region"], data.get("zone"), data.get("instance_type"), data.get("available", False))
    return {"ok": True}


def set_timing(emulator, request, data):
    _required(data, "transition_seconds")
    seconds = float(data["transition_seconds"])
    if seconds < 0:
        raise ValueError("transition_seconds must be >= 0")
    emulator.data["timing"]["transition_seconds"] = seconds
    emulator.save()
    return {"transition_seconds": seconds}


def read_state(emulator, request, data):
    emulator.settle()
    account = request.query.get("account")
    region = request.query.get("region")
    accounts = emulator.data["accounts"]
    if account:
        accounts = {account: accounts.get(account, {"regions": {}, "global": {}})}
    if region:
        accounts = {uid: {"regions": {region: tables["regions"].get(region, {})}, "global": tables["global"]}
                    for uid, tables in accounts.items()}
    return {"accounts": accounts, "quotas": emulator.data["quotas"], "stock": emulator.data["stock"],
            "timing": {"transition_seconds": emulator.transition_seconds},
            "keys": {ak: {"account": key["account"]} for ak, key in emulator.data["keys"].items()}}


def reset(emulator, request, data):
    emulator.reset()
    return {"ok": True}


ROUTES = {
    ("GET", "health"): health,
    ("POST", "keys"): add_key,
    ("DELETE", "keys"): delete_key,
    ("POST", "faults"): add_fault,
    ("POST", "throttle"): add_throttle,
    ("POST", "quotas"): set_quotas,
    ("POST", "stock"): set_stock,
    ("POST", "timing"): set_timing,
    ("GET", "state"): read_state,
    ("POST", "reset"): reset,
}


async def handle(request, emulator):
    if not _is_loopback(request.remote):
        return _problem(403, "FORBIDDEN", "the admin API answers only loopback clients")
    route = ROUTES.get((request.method, request.path[len("/_emulator/"):].strip("/")))
    if route is None:
        return _problem(404, "NOT_FOUND", f"no admin route {request.method} {request.path}")
    try:
        data = await _body(request)
        return _json(route(emulator, request, data))
    except (ValueError, TypeError) as error:
        return _problem(400, "INVALID_REQUEST", str(error))
