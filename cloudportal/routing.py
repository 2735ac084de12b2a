from django.urls import path

from apps.compute.console.urls import websocket_urlpatterns as console_websockets
from apps.core.events.consumers import EventConsumer

websocket_urlpatterns = [
    path("ws/events/", EventConsumer.as_asgi()),
    *console_websockets,
]
