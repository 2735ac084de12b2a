"""``POST /api/v1/vm-instances/<uuid>/console/``, as an action for ``VmInstanceViewSet``."""
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core.api.viewsets import audit

CONSOLE_ANSWER = inline_serializer("VmConsole", {
    "token": serializers.CharField(help_text="signed, single-use, valid until expires_at"),
    "websocket_url": serializers.CharField(help_text="ws(s)://…/ws/console/<token>/: raw RFB in binary frames"),
    "console_url": serializers.CharField(help_text="the noVNC page for this console"),
    "expires_at": serializers.DateTimeField(),
})


def console_action():
    @extend_schema(request=None, responses={200: CONSOLE_ANSWER})
    @action(detail=True, methods=["post"])
    def console(self, request, uuid=None):
        """A short-lived token for the VM's VNC console, its websocket and its page (docs/console.md).
        409 when the VM is not Running/Paused or its host is not Connected."""
        from .service import open_console

        vm = self.get_object()
        audit(request, action="vm-instances.console", resource_type="VmInstance", resource_uuid=vm.uuid)
        return Response(open_console(request, vm))

    return console
