"""Parts of a detail page that an app above the resource's app adds (a hook: compute and infra
cannot import monitoring, yet their VM and host pages show its charts). An app adds a panel in
its ``ui.py``; the generic detail page renders the panels after the object's fields, outside the
part console/live.js swaps, so that they live on while the object changes.
"""
PANELS = {}   # API basename -> [panel(request, data) -> markup ("" for nothing)]


def add_detail_panel(basename, panel):
    """Show ``panel(request, data)`` (``data``: the API's answer for the object) on the detail
    pages of ``basename``."""
    panels = PANELS.setdefault(basename, [])
    if panel not in panels:
        panels.append(panel)


def detail_panels(request, basename, data):
    return [markup for markup in (panel(request, data) for panel in PANELS.get(basename, ())) if markup]
