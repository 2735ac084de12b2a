"""``/ws/console/<token>/``: the websocket noVNC talks to, relaying raw RFB bytes
to the VM's VNC server (QEMU on the VM's host) in binary frames both ways.

The connection is accepted first (with the "binary" subprotocol when the client
offers it) so that a refusal can carry a close code the browser shows
(``service.CLOSE_*``); a refused connection gets no data. One token opens one
connection. When either side closes, the other is closed too.
"""
import asyncio
import contextlib
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from apps.core.errors import CloudPortalError

from apps.infra import agent
from apps.infra.agent import AgentUnreachable

from .service import CLOSE_UNREACHABLE, CLOSE_WRONG_STATE, ConsoleRefused, resolve

log = logging.getLogger(__name__)

AGENT_TIMEOUT = 10      # seconds for the agent to name the VNC port
CONNECT_TIMEOUT = 10    # seconds for the VNC server to accept the TCP connection
CHUNK = 64 * 1024


async def vnc_endpoint(vm):
    """``(address, port)`` of the VM's VNC server: the host's management IP (the agent's
    ``vnc_listen`` must be reachable there) and the port the agent names."""
    host = vm.host
    try:
        answer = await asyncio.to_thread(agent.call, host, "/v1/vm/vnc-port", {"vm_uuid": str(vm.uuid)},
                                         timeout=AGENT_TIMEOUT)
    except AgentUnreachable as exc:
        # the browser is told what happened, not where: the agent's address stays in the log
        log.info("console of VM %s: %s", vm.uuid, exc.message)
        raise ConsoleRefused(CLOSE_UNREACHABLE, f"the agent of host {host.name} did not answer") from None
    except CloudPortalError as exc:
        log.info("console of VM %s: %s", vm.uuid, exc.message)
        raise ConsoleRefused(CLOSE_WRONG_STATE, f"the agent of host {host.name} has no console for VM {vm.uuid}") from None
    port = answer.get("port")
    if not isinstance(port, int) or port <= 0:
        raise ConsoleRefused(CLOSE_WRONG_STATE, f"VM {vm.uuid} has no VNC server on host {host.name}")
    return host.management_ip, port


class ConsoleProxyConsumer(AsyncWebsocketConsumer):
    channel_layer_alias = None   # no groups: a console needs no channel layer (nor a Redis reader)
    writer = None
    pump = None
    client_gone = False

    async def dispatch(self, message):
        # Frames go straight to the VNC server: the base dispatch would first hop to a
        # thread to close stale database connections, for every key press and mouse move.
        if message["type"] == "websocket.receive":
            return await self.websocket_receive(message)
        return await super().dispatch(message)

    async def connect(self):
        offered = self.scope.get("subprotocols") or []
        await self.accept("binary" if "binary" in offered else None)
        token = self.scope["url_route"]["kwargs"]["token"]
        try:
            claims, vm = await database_sync_to_async(resolve)(token, self.scope.get("user"), consume=True)
            address, port = await vnc_endpoint(vm)
            try:
                reader, self.writer = await asyncio.wait_for(asyncio.open_connection(address, port),
                                                             CONNECT_TIMEOUT)
            except (OSError, asyncio.TimeoutError) as exc:
                log.info("console of VM %s: VNC server %s:%s did not answer: %s", vm.uuid, address, port,
                         exc or "timeout")
                raise ConsoleRefused(CLOSE_UNREACHABLE, f"the VNC server of VM {vm.uuid} did not answer") from None
        except ConsoleRefused as exc:
            log.info("console refused (%s): %s", exc.close_code, exc.reason)
            await self.close(code=exc.close_code, reason=exc.reason.encode()[:120].decode(errors="ignore"))
            return
        log.info("console of VM %s opened for user %s (%s:%s)", claims.vm_uuid, claims.user_uuid, address, port)
        self.pump = asyncio.create_task(self._pump(reader))

    async def _pump(self, reader):
        """VNC server → browser, until the server closes."""
        try:
            while True:
                data = await reader.read(CHUNK)
                if not data:
                    break
                await self.send(bytes_data=data)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            if not self.client_gone:
                await self.close(code=1000)

    async def receive(self, text_data=None, bytes_data=None):
        """Browser → VNC server. RFB is binary; a text frame is a protocol error."""
        if self.writer is None:
            return
        if bytes_data is None:
            await self.close(code=1003, reason="binary frames only")
            return
        try:
            self.writer.write(bytes_data)
            await self.writer.drain()
        except OSError:
            await self.close(code=1011)

    async def disconnect(self, code):
        self.client_gone = True
        if self.pump is not None:
            self.pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.pump
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
