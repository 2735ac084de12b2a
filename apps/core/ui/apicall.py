"""The console's pages call the API in-process, the way a browser client would over HTTP.

A page never reads or writes a resource itself: it resolves the API's URL, calls that view with a
copy of the browser's request (its session user, its already checked CSRF token, the form body it
posted) and renders the answer. Tenancy (404 for another account's object), validation and its
messages, permissions, flows, busy checks and the audit row are therefore the API's own: the
audit middleware records the call under the API path, as for any API client.
"""
import copy

from django.http import QueryDict
from django.urls import Resolver404, resolve, reverse
from rest_framework.permissions import BasePermission

from ..middleware import AuditMiddleware


class Answer:
    """What the API answered: ``status`` and ``data`` (the parsed body, before rendering)."""

    def __init__(self, status, data):
        self.status, self.data = status, data

    @property
    def ok(self):
        return self.status < 400

    @property
    def message(self):
        return self.data.get("message", "") if isinstance(self.data, dict) else ""

    @property
    def code(self):
        return self.data.get("code", "") if isinstance(self.data, dict) else ""

    @property
    def field_errors(self):
        """``{field: [messages]}`` of a 400 from a serializer (the error's ``details``)."""
        if self.code != "INVALID_ARGUMENT":
            return {}
        details = self.data.get("details") or {}
        return {name: value if isinstance(value, list) else [value] for name, value in details.items()
                if isinstance(value, (list, str))}


def call(request, method, path, query=None):
    """Call the API view at ``path`` (an API URL path) with ``method`` for the browser's ``request``.

    ``query``: the query string (a QueryDict, a dict or a list of pairs); the body is the browser's
    own (a form posted to the page goes to the API as it came)."""
    try:
        match = resolve(path)
    except Resolver404:
        return Answer(404, {"code": "NOT_FOUND", "message": f"no such path: {path}"})
    _keep_body(request)
    inner = copy.copy(request)
    inner.method = method
    inner.path = inner.path_info = path
    inner.GET = _query_dict(query)
    # what the API's own middleware does around an API call: the audit row of a mutating one
    response = AuditMiddleware(lambda req: match.func(req, *match.args, **match.kwargs))(inner)
    return Answer(response.status_code, getattr(response, "data", None))


def _keep_body(request):
    """Read the browser's body once, kept on its request, so that the API's parser (reading the
    copy) and the page itself (``request.POST``, to show a form again) both see it. A multipart
    body is parsed (its files streamed by the upload handlers) rather than held as bytes."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if request.content_type.startswith("multipart/"):
        request.POST  # noqa: B018 - parsed now; the API's parser then takes request.POST and FILES
    else:
        request.body  # noqa: B018


def _query_dict(query):
    if isinstance(query, QueryDict):
        return query
    result = QueryDict(mutable=True)
    items = query.items() if isinstance(query, dict) else (query or [])
    for key, value in items:
        for one in value if isinstance(value, (list, tuple)) else [value]:
            result.appendlist(key, str(one))
    return result


def list_path(basename):
    return reverse(f"{basename}-list")


def detail_path(basename, uuid):
    return reverse(f"{basename}-detail", kwargs={"uuid": uuid})


def viewset_of(basename):
    """The viewset class registered on the API router under ``basename``."""
    return resolve(list_path(basename)).func.cls


def basename_of(viewset):
    """The router basename the API registered ``viewset`` under (None when it is not routed)."""
    return _basenames().get(viewset)


_found = {}


def _basenames():
    if not _found:
        from django.urls import get_resolver

        def walk(patterns):
            for pattern in patterns:
                if hasattr(pattern, "url_patterns"):
                    walk(pattern.url_patterns)
                    continue
                view = pattern.callback
                cls, initkwargs = getattr(view, "cls", None), getattr(view, "initkwargs", None)
                if cls is not None and initkwargs and initkwargs.get("basename"):
                    _found.setdefault(cls, initkwargs["basename"])

        walk(get_resolver().url_patterns)
    return _found


def permitted(request, viewset, action, method="POST", obj=None):
    """Whether the API's permission classes let this user call ``action`` of ``viewset`` (what
    pages ask before showing a button; the API checks again when it is pressed). ``obj``: a
    callable giving the object the action is on, asked only of permissions that judge objects
    (its model instance as this user sees it, or None)."""
    probe = copy.copy(request)
    probe.method = method
    view = viewset(request=probe, action=action, format_kwarg=None, args=(), kwargs={})
    for permission in view.get_permissions():
        if not permission.has_permission(probe, view):
            return False
        if obj is not None and type(permission).has_object_permission is not BasePermission.has_object_permission:
            instance = obj()
            if instance is not None and not permission.has_object_permission(probe, view, instance):
                return False
    return True
