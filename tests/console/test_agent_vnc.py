"""The agent side of the console: the optional ``vnc_password`` of /v1/vm/define and the
``vnc_listen`` setting (where QEMU's VNC servers listen, for the portal's proxy)."""
import uuid
import xml.etree.ElementTree as ET

import pytest

from hostagent.backends.base import validate_define
from hostagent.config import load
from hostagent.errors import AgentFailure

BASE = {"vm_uuid": str(uuid.uuid4()), "cpu_num": 1, "memory_size": 64 << 20}


def test_define_without_vnc_password_is_unchanged():
    assert validate_define(dict(BASE))["vnc_password"] is None
    assert validate_define(dict(BASE, vnc_password=None))["vnc_password"] is None
    assert validate_define(dict(BASE, vnc_password=""))["vnc_password"] is None


def test_define_takes_a_vnc_password_of_up_to_8_printable_characters():
    assert validate_define(dict(BASE, vnc_password="aB3$xY9!"))["vnc_password"] == "aB3$xY9!"
    for bad in ("123456789", 12345678, "with space", "tab\there", "caf\u00e9"):
        with pytest.raises(AgentFailure) as refused:
            validate_define(dict(BASE, vnc_password=bad))
        assert refused.value.status == 400 and refused.value.details == {"field": "vnc_password"}


def _backend(config, monkeypatch):
    libvirt_backend = pytest.importorskip("hostagent.backends.libvirt_backend")
    if libvirt_backend.libvirt is None:
        pytest.skip("libvirt-python is not installed")

    class FakeConn:
        def getInfo(self):
            return ["x86_64"]

    backend = libvirt_backend.LibvirtBackend(dict({"host_uuid": BASE["vm_uuid"], "secret": "s"}, **config))
    monkeypatch.setattr(backend, "conn", lambda: FakeConn())
    return backend


@pytest.mark.parametrize("config, address", [
    ({}, "127.0.0.1"),                                          # nothing said: loopback, as before
    ({"listen": "10.0.0.5"}, "10.0.0.5"),                       # the agent's own address (a deployed agent)
    ({"listen": "10.0.0.5", "vnc_listen": "0.0.0.0"}, "0.0.0.0"),
])
def test_domain_vnc_listens_where_the_config_says_with_the_password(config, address, monkeypatch):
    backend = _backend(config, monkeypatch)
    graphics = ET.fromstring(backend.domain_xml(validate_define(dict(BASE, vnc_password="s3cr'et<")))).find(
        "./devices/graphics")
    assert graphics.attrib == {"type": "vnc", "port": "-1", "autoport": "yes", "listen": address,
                               "passwd": "s3cr'et<"}
    assert graphics.find("listen").attrib == {"type": "address", "address": address}
    plain = ET.fromstring(backend.domain_xml(validate_define(dict(BASE)))).find("./devices/graphics")
    assert "passwd" not in plain.attrib and plain.get("listen") == address


def test_vnc_listen_is_an_agent_option():
    config = load(["--backend", "sim", "--vnc-listen", "192.0.2.7"])
    assert config["vnc_listen"] == "192.0.2.7"
    assert load(["--backend", "sim"])["vnc_listen"] is None
