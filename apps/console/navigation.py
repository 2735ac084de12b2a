"""What every console page's layout shows: the sidebar built from the declared pages, the task panel."""
from django.urls import reverse

from apps.core.ui import site

from .tasks import panel


def console(request):
    """Context processor: ``menu`` = [(group, [(label, url, active)])] for the sidebar;
    ``task_panel``: the task panel's context, made only when a template shows it (the layout, not
    the fragments htmx asks for)."""
    if not request.path.startswith("/ui/"):
        return {}
    menu = []
    for group, pages in site.menu():
        items = []
        for one in pages:
            url = reverse("ui:list", kwargs={"basename": one.api_basename()})
            items.append((one.title(), url, request.path.startswith(url)))
        menu.append((group, items))
    context = {"menu": menu}
    if request.user.is_authenticated:
        context["task_panel"] = lambda: panel(request)
    return context
