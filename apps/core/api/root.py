from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView


def collection_names(patterns=None):
    """The URL names of every collection: each router's list route (``<basename>-list``), in the
    order the apps register them. Routes with parameters (a config's resources) are left out."""
    names = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            names += [name for name in collection_names(pattern.url_patterns) if name not in names]
        elif isinstance(pattern, URLPattern) and (pattern.name or "").endswith("-list") \
                and not pattern.pattern.regex.groupindex and pattern.name not in names:
            names.append(pattern.name)
    return names


@extend_schema(exclude=True)
class ApiRoot(APIView):
    """CloudPortal API v1: every collection. Log in with `POST auth/login/`, then send
    `Authorization: Token <token>`; the OpenAPI schema is at `schema`, its docs at `docs`."""

    permission_classes = [AllowAny]
    _collections = None  # [(key, url name)], found on first use

    @classmethod
    def collections(cls):
        if cls._collections is None:
            root = reverse("api-root")
            found = []
            for name in collection_names():
                try:
                    path = reverse(name)
                except NoReverseMatch:
                    continue
                if path.startswith(root) and path != root:
                    found.append((path[len(root):].strip("/"), name))
            cls._collections = found
        return cls._collections

    def get(self, request):
        links = {key: request.build_absolute_uri(reverse(name)) for key, name in self.collections()}
        links["auth/login"] = request.build_absolute_uri(reverse("login"))
        links["schema"] = request.build_absolute_uri(reverse("schema"))
        links["docs"] = request.build_absolute_uri(reverse("api-docs"))
        return Response(links)
