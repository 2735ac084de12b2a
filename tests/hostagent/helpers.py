import http.client
import json
import time
import uuid

from hostagent.signing import encode_body, signed_headers


def new_host(agent, cpu_num=8, memory_size=16 << 30, **extra):
    host_uuid, secret = str(uuid.uuid4()), uuid.uuid4().hex
    status, _ = agent.admin("POST", "/sim/hosts", {"host_uuid": host_uuid, "secret": secret,
                                                   "cpu_num": cpu_num, "memory_size": memory_size, **extra})
    assert status == 200
    return host_uuid, secret


def raw_post(agent, path, body=b"{}", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", agent.port, timeout=10)
    conn.request("POST", path, body=body, headers=headers or {})
    response = conn.getresponse()
    payload = json.loads(response.read() or b"{}")
    conn.close()
    return response.status, payload


def signed_post(agent, host_uuid, secret, path, body=None, request_id=None, timestamp=None):
    data = encode_body(body)
    headers = signed_headers(host_uuid, secret, "POST", path, data, request_id=request_id,
                             timestamp=int(time.time()) if timestamp is None else timestamp)
    return raw_post(agent, path, data, headers), headers
