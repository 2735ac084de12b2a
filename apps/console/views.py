"""The console's own pages: login, logout and the dashboard."""
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from apps.accounts.login_pages import SessionLoginView
from apps.core.tenancy import visible
from apps.core.ui import site
from apps.core.ui.apicall import call, list_path, viewset_of
from apps.core.ui.browse import table
from apps.core.ui.cells import state_colour
from apps.core.ui.labels import state_word
from apps.monitoring.performance import busiest

from . import capacity


class LoginView(SessionLoginView):
    """The API's session login (same accounts, same throttle), in the console's look."""

    template_name = "console/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        return reverse("console:dashboard")


# (label, API basename, the field counted by value): what the dashboard counts
COUNTED = [
    (_("Virtual machines"), "vm-instances", "state"),
    (_("Hosts"), "hosts", "status"),
    (_("Primary storage"), "primary-storage", "state"),
    (_("Backup storage"), "backup-storage", "state"),
    (_("L3 networks"), "l3-networks", None),
    (_("Images"), "images", "status"),
]


def counts(request, basename, field):
    """Rows of the API's ``basename`` this user sees, by ``field``: the viewset's queryset under
    core's tenancy rule (one grouped query, where the API would need one call per value)."""
    model = viewset_of(basename).queryset.model
    rows = visible(model.objects.all(), request.user)
    if field is None:
        return rows.count(), []
    by_value = sorted(rows.values_list(field).annotate(n=Count("id")).order_by(), key=lambda r: -r[1])
    return sum(n for _, n in by_value), [(state_word(v), state_colour(v), n) for v, n in by_value]


def live_figures(request):
    """What the dashboard shows that changes as jobs end and hosts come and go: the counts, the
    capacity, the Disconnected hosts (``console/_dashboard_live.html``)."""
    cards = []
    for label, basename, field in COUNTED:
        total, parts = counts(request, basename, field)
        pages = site.get(basename)
        cards.append({"label": label, "total": total, "parts": parts,
                      "url": reverse("ui:list", kwargs={"basename": basename}) if pages else ""})
    disconnected, disconnected_count = capacity.disconnected_hosts(request.user)
    return {
        "cards": cards,
        "capacity": capacity.capacity(request.user),
        "disconnected": disconnected, "disconnected_count": disconnected_count,
        "disconnected_url": reverse("ui:list", kwargs={"basename": "hosts"}) + "?q=status%3DDisconnected",
        "show_address": capacity.address_shown_to(request.user),
        "followed_hosts": capacity.hosts_followed(request.user),
    }


@login_required
def dashboard(request):
    jobs = site.get("jobs")
    columns = ["action", "state", "progress", "resource_type", "created_at"]

    def recent(query):
        answer = call(request, "GET", list_path("jobs"), {"ordering": "-created_at", "limit": 8, **query})
        return table(request, jobs, answer.data["results"] if answer.ok else [], columns)

    jobs_url = reverse("ui:list", kwargs={"basename": "jobs"})
    return render(request, "console/dashboard.html", {
        "title": _("Dashboard"), **live_figures(request),
        "busiest": busiest(request),
        "job_tables": [(_("Recent jobs"), "recent-jobs", jobs_url, recent({})),
                       (_("Failed jobs"), "failed-jobs", jobs_url + "?q=state%3Dfailed",
                        recent({"q": "state=failed"}))],
    })


@login_required
def dashboard_live(request):
    """``live/``: the dashboard's figures alone, fetched again by console/live.js when a job of the
    account ends or a host it follows changes."""
    return render(request, "console/_dashboard_live.html", live_figures(request))
