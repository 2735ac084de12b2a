"""The simulator's admin API (not under /v1/; Authorization: Bearer <admin token>)."""
import json

from aiohttp import web

from .errors import AgentFailure


def add_admin_routes(app, server):
    backend = server.backend

    def admin(fn):
        async def handler(request):
            try:
                server.check_admin(request)
                body = {}
                if request.can_read_body:
                    try:
                        body = json.loads(await request.read() or b"{}")
                    except ValueError:
                        raise AgentFailure(400, "INVALID_REQUEST", "the body must be JSON") from None
                    if not isinstance(body, dict):
                        raise AgentFailure(400, "INVALID_REQUEST", "the body must be a JSON object")
                return web.json_response(fn(request, body))
            except AgentFailure as failure:
                return web.json_response(failure.payload(), status=failure.status)
        return handler

    def settings(request, body):
        if "latency" in body:
            latency = body["latency"]
            if not isinstance(latency, (int, float)) or latency < 0:
                raise AgentFailure(400, "INVALID_REQUEST", "latency must be a number of seconds >= 0")
            backend.latency = float(latency)
        return {"latency": backend.latency}

    def stats(request, body):
        return {"hosts": len(backend.hosts), "faults": [f.as_dict() for f in backend.faults],
                "latency": backend.latency, "cached_answers": len(server.cache),
                "events_sent": server.events.sent, "events_dropped": server.events.dropped,
                "sample_interval": server.sampler.interval, "samples_taken": server.sampler.count,
                "last_sample_seconds": server.sampler.duration}

    r = app.router
    r.add_post("/sim/hosts", admin(lambda req, body: backend.add_host(body)))
    r.add_get("/sim/hosts", admin(lambda req, body: {"count": len(backend.hosts)}))
    r.add_get("/sim/hosts/{uuid}", admin(lambda req, body: backend.host_detail(req.match_info["uuid"])))
    r.add_delete("/sim/hosts/{uuid}", admin(lambda req, body: backend.delete_host(req.match_info["uuid"])))
    r.add_post("/sim/hosts/{uuid}/vms/{vm_uuid}/state", admin(lambda req, body: backend.set_vm_state(
        req.match_info["uuid"], req.match_info["vm_uuid"], body.get("state"))))
    r.add_post("/sim/faults", admin(lambda req, body: backend.add_fault(body)))
    r.add_get("/sim/faults", admin(lambda req, body: {"faults": [f.as_dict() for f in backend.faults]}))
    r.add_delete("/sim/faults", admin(lambda req, body: backend.clear_faults()))
    r.add_post("/sim/load", admin(lambda req, body: backend.set_load(body)))
    r.add_post("/sim/settings", admin(settings))
    r.add_get("/sim/stats", admin(stats))
