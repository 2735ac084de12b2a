"""A real QEMU domain behind the real libvirt agent, reached through the console API and
the websocket proxy: the RFB handshake, VNC authentication with the VM's password and
ServerInit all pass through (skipped when libvirt-python or libvirtd is absent)."""
import asyncio
import struct

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from apps.core.testing import client_for
from cloudportal.asgi import application

from . import rfb
from .conftest import VNC_PASSWORD

pytestmark = pytest.mark.libvirt


def test_des_matches_the_standard_test_vector():
    assert rfb.des_ecb(bytes.fromhex("133457799BBCDFF1"), bytes.fromhex("0123456789ABCDEF")) == \
        bytes.fromhex("85E813540F0AB405")


class Stream:
    """Bytes from the proxy's binary frames, read by size: RFB messages may arrive split
    over frames or several in one."""

    def __init__(self, communicator):
        self.communicator = communicator
        self.buffer = b""

    async def read(self, size, timeout=20):
        while len(self.buffer) < size:
            message = await self.communicator.receive_output(timeout)
            assert message["type"] == "websocket.send", f"closed while waiting for data: {message}"
            assert message.get("bytes") is not None, "the proxy sent a text frame"
            self.buffer += message["bytes"]
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data


async def vnc_session(token, password):
    """Handshake through the proxy; returns (security types, auth result, ServerInit or None)."""
    communicator = WebsocketCommunicator(application, f"/ws/console/{token}/", subprotocols=["binary"])
    connected, subprotocol = await communicator.connect(timeout=5)
    assert connected and subprotocol == "binary"
    stream = Stream(communicator)
    try:
        assert await stream.read(12) == rfb.VERSION      # "RFB 003.008\n" from QEMU
        await communicator.send_to(bytes_data=rfb.VERSION)
        count = (await stream.read(1))[0]
        types = list(await stream.read(count))
        if rfb.SECURITY_VNC_AUTH not in types:
            return types, None, None
        await communicator.send_to(bytes_data=bytes([rfb.SECURITY_VNC_AUTH]))
        challenge = await stream.read(16)
        await communicator.send_to(bytes_data=rfb.vnc_auth_response(password, challenge))
        (result,) = struct.unpack(">I", await stream.read(4))
        if result != 0:
            return types, result, None
        await communicator.send_to(bytes_data=b"\x01")                  # ClientInit: shared
        init = await stream.read(24)
        (name_length,) = struct.unpack(">I", init[20:24])
        init += await stream.read(name_length)
        return types, result, rfb.parse_server_init(init)
    finally:
        await communicator.disconnect()


def test_console_of_a_running_vm_relays_rfb_and_vnc_auth_with_the_vm_password(console_vm):
    user, vm = console_vm
    body = client_for(user).post(f"/api/v1/vm-instances/{vm.uuid}/console/").json()
    types, result, init = async_to_sync(vnc_session)(body["token"], VNC_PASSWORD)
    assert rfb.SECURITY_VNC_AUTH in types and rfb.SECURITY_NONE not in types   # the password is required
    assert result == 0
    assert init["width"] > 0 and init["height"] > 0
    assert str(vm.uuid) in init["name"]   # QEMU names the desktop after the domain, cp-<vm uuid>


def test_a_wrong_password_is_refused_by_the_vnc_server(console_vm):
    user, vm = console_vm
    body = client_for(user).post(f"/api/v1/vm-instances/{vm.uuid}/console/").json()
    types, result, init = async_to_sync(vnc_session)(body["token"], "wrong!!")
    assert rfb.SECURITY_VNC_AUTH in types and result == 1 and init is None


def test_the_browser_side_is_closed_when_the_vm_powers_off(transactional_db, libvirt_agent):
    """QEMU closing its VNC server (the VM stops) closes the websocket too."""
    import uuid

    from apps.core.testing import make_account

    from .conftest import make_kvm_host
    from .helpers import make_vm

    vm_uuid = str(uuid.uuid4())
    agent = libvirt_agent.client
    agent.call("/v1/vm/define", {"vm_uuid": vm_uuid, "name": "short-lived", "cpu_num": 1, "memory_size": 64 << 20,
                                 "vnc_password": "x1y2z3"})
    try:
        agent.call("/v1/vm/start", {"vm_uuid": vm_uuid})
        user = make_account("console-poweroff")
        vm = make_vm(user.account, make_kvm_host(libvirt_agent), uuid=vm_uuid, console_password="x1y2z3")
        token = client_for(user).post(f"/api/v1/vm-instances/{vm.uuid}/console/").json()["token"]

        async def scenario():
            communicator = WebsocketCommunicator(application, f"/ws/console/{token}/")
            assert (await communicator.connect(timeout=5))[0]
            assert await Stream(communicator).read(12) == rfb.VERSION
            await asyncio.to_thread(agent.call, "/v1/vm/destroy", {"vm_uuid": vm_uuid})
            message = await communicator.receive_output(timeout=20)
            await communicator.disconnect()
            return message

        message = async_to_sync(scenario)()
        assert message == {"type": "websocket.close", "code": 1000}
    finally:
        agent.call("/v1/vm/undefine", {"vm_uuid": vm_uuid})
