"""The browser console's generic pages (ARCHITECTURE §8): a resource declares a ``ResourcePages``
(apps/<app>/ui.py) and gets its list, detail, form and action pages, all answered by its API."""
from .pages import Action, Choice, Related, ResourcePages, site  # noqa: F401
from .panels import add_detail_panel  # noqa: F401

from . import core_pages  # noqa: E402,F401  (core's own pages: jobs, audit log, global configs)
