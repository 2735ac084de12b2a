"""The task panel (Proxmox's task log) under every console page: the account's recent jobs as
the jobs API lists them, rendered with the page; console/live.js then follows every job of the
account over ``/ws/events/`` (``account_jobs``), new ones included, without a reload."""
from django.urls import reverse
from django.utils.translation import gettext as _

from apps.core.models import RESOURCE_TYPES, JobState
from apps.core.ui import site
from apps.core.ui.apicall import call, list_path
from apps.core.ui.cells import state_colour
from apps.core.ui.labels import STATE_WORDS, state_word

PANEL_SIZE = 10   # jobs shown; live.js keeps to it as new ones come


def task(row, resource_pages):
    """What the panel shows of a job (an API row; live.js works the same out of an event)."""
    steps = [step for step in row.get("steps") or [] if isinstance(step, dict)]
    error = row.get("error") if isinstance(row.get("error"), dict) else {}
    running = next((step.get("name", "") for step in steps if step.get("state") == "running"), "")
    resource_url = resource_pages.get(row.get("resource_type") or "")
    return {
        "uuid": row["uuid"], "action": row.get("action", ""), "state": row.get("state", ""),
        "state_word": state_word(row.get("state", "")), "colour": state_colour(row.get("state", "")),
        "progress": row.get("progress") or 0, "step": error.get("step") or running,
        "error": error.get("message", ""), "resource_type": row.get("resource_type") or "",
        "resource_url": f"{resource_url}{row['resource_uuid']}/" if resource_url and row.get("resource_uuid") else "",
        "created_at": row.get("created_at") or "",
    }


def resource_pages():
    """``{resource type: its list page's URL}`` of the resource types that have pages."""
    found = {}
    for name, model in RESOURCE_TYPES.items():
        pages = site.for_model(model)
        if pages is not None:
            found[name] = reverse("ui:list", kwargs={"basename": pages.api_basename()})
    return found


def panel(request):
    """The panel's context: the account's recent jobs and what live.js needs to show new ones."""
    pages = resource_pages()
    answer = call(request, "GET", list_path("jobs"), {
        "q": f"account_uuid={request.user.account.uuid}", "ordering": "-created_at", "limit": PANEL_SIZE})
    rows = answer.data["results"] if answer.ok else []
    jobs_url = reverse("ui:list", kwargs={"basename": "jobs"})
    return {
        "tasks": [task(row, pages) for row in rows],
        "account_uuid": str(request.user.account.uuid),
        "jobs_url": jobs_url,
        "config": {
            "size": PANEL_SIZE,
            "jobs_url": jobs_url,
            "pages": pages,
            # how a state is shown (a job's in the panel, a resource's in a list row's badge)
            "states": {state: [state_word(state), state_colour(state)] for state in STATE_WORDS + JobState.values},
            "words": {"none": _("No tasks yet."), "running": _("%(count)s running")},
        },
    }
