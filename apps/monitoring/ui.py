"""Monitoring in the console (found by apps.console.urls, as every app's ui.py): the metric charts
on host and VM pages. Its own pages are in console_urls.py."""
from apps.core.ui import add_detail_panel

from .chart_pages import charts_panel

add_detail_panel("vm-instances", charts_panel("vm"))
add_detail_panel("hosts", charts_panel("host"))
