from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The browser console: its layout, login, dashboard and URLs. The pages of each resource are
    declared beside their app (``apps/<app>/ui.py``) with core's ``ResourcePages``; the URLconf
    finds them (only web processes load it)."""

    name = "apps.console"
    label = "console"
