"""What every console page's layout shows: the sidebar built from the declared pages."""
from django.urls import reverse

from apps.core.ui import site


def console(request):
    """Context processor: ``menu`` = [(group, [(label, url, active)])] for the sidebar."""
    if not request.path.startswith("/ui/"):
        return {}
    menu = []
    for group, pages in site.menu():
        items = []
        for one in pages:
            url = reverse("ui:list", kwargs={"basename": one.api_basename()})
            items.append((one.title(), url, request.path.startswith(url)))
        menu.append((group, items))
    return {"menu": menu}
