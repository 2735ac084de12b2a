from django.urls import path, re_path

from .proxy import ConsoleProxyConsumer
from .views import console_page

urlpatterns = [
    path("console/vm/<uuid:uuid>/", console_page, name="vm-console"),
]

websocket_urlpatterns = [
    re_path(r"^ws/console/(?P<token>[A-Za-z0-9_\-:]{1,512})/$", ConsoleProxyConsumer.as_asgi()),
]
