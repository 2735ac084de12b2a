"""What every console page's layout shows: the sidebar built from the declared pages, the task panel."""
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from apps.core.ui import site

from .tasks import panel

# (language, the pages declared, the page shown) -> the sidebar's markup. The sidebar is the same
# for every user (the pages' labels in a language; the current one marked), and building it
# (a URL reversed per page, a template loop over them) was a tenth of a list page's time.
_sidebars = {}


def console(request):
    """Context processor: ``sidebar``, the navigation's markup (made when the layout shows it);
    ``task_panel``: the task panel's context, made only when a template shows it (the layout, not
    the fragments htmx asks for)."""
    if not request.path.startswith("/ui/"):
        return {"sidebar": lambda: sidebar(request, with_pages=False)}
    context = {"sidebar": lambda: sidebar(request)}
    if request.user.is_authenticated:
        context["task_panel"] = lambda: panel(request)
    return context


def sidebar(request, with_pages=True):
    """The sidebar for ``request``'s page: the dashboard, then the declared pages in their menu
    groups (``site.menu()``), the current one marked."""
    urls = _page_urls() if with_pages else {}
    current = tuple(url for url in urls if request.path.startswith(url))
    url_name = getattr(request.resolver_match, "url_name", None)
    dashboard, performance = url_name == "dashboard", url_name == "performance"
    key = (get_language(), len(site.declared), with_pages, current, dashboard, performance)
    markup = _sidebars.get(key)
    if markup is None:
        menu = [(group, [(one.title(), url, url in current) for one, url in items])
                for group, items in _menu(urls)] if with_pages else []
        markup = mark_safe(render_to_string(   # noqa: S308 - a template's output, escaped by it
            "console/_sidebar.html", {"menu": menu, "dashboard_active": dashboard, "performance_active": performance,
                                      "with_pages": with_pages}))
        _sidebars[key] = markup
    return markup


_urls = {}   # the number of pages declared -> {list URL: pages}


def _page_urls():
    found = _urls.get(len(site.declared))
    if found is None:
        found = {reverse("ui:list", kwargs={"basename": one.api_basename()}): one for one in site.declared
                 if one.menu}
        _urls[len(site.declared)] = found
    return found


def _menu(urls):
    by_pages = {pages: url for url, pages in urls.items()}
    return [(group, [(one, by_pages[one]) for one in pages]) for group, pages in site.menu()]
