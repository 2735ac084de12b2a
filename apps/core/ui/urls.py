"""The console's resource URLs, the same for every ``ResourcePages`` (``ui:list``, ``ui:detail``,
``ui:create``, ``ui:edit``, ``ui:action``, ``ui:bulk``, and ``ui:rows``: some rows of the list, which
a list page fetches when ``/ws/events/`` says they changed); a page may replace a view (``views``)
or add URLs of its own (``extra_urls``)."""
from django.urls import include, path

from .browse import DetailView, ListView, RowsView
from .edit import ActionView, BulkView, FormView
from .pages import site

GENERIC = {"list": ListView, "rows": RowsView, "detail": DetailView, "form": FormView, "action": ActionView,
           "bulk": BulkView}
_views = {}


def route(kind):
    """The view of ``kind`` for the page named in the URL: the page's own, else the generic one."""

    def view(request, basename, *args, **kwargs):
        pages = site.get(basename)
        view_class = (pages.views.get(kind) if pages is not None else None) or GENERIC[kind]
        if view_class not in _views:
            _views[view_class] = view_class.as_view()
        return _views[view_class](request, basename, *args, **kwargs)

    view.__name__ = f"ui_{kind}"
    return view


def urlpatterns():
    extra = [path(f"{pages.basename}/", include(pages.extra_urls()))
             for pages in site.declared if pages.basename and pages.extra_urls()]
    return extra + [
        path("<slug:basename>/", route("list"), name="list"),
        path("<slug:basename>/new/", route("form"), name="create"),
        path("<slug:basename>/rows/", route("rows"), name="rows"),
        path("<slug:basename>/bulk/<slug:action>/", route("bulk"), name="bulk"),
        path("<slug:basename>/<uuid:uuid>/", route("detail"), name="detail"),
        path("<slug:basename>/<uuid:uuid>/edit/", route("form"), name="edit"),
        path("<slug:basename>/<uuid:uuid>/<slug:action>/", route("action"), name="action"),
    ]
