from django.urls import NoReverseMatch, reverse
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

COLLECTIONS = [
    "zones", "clusters", "accounts", "users", "jobs", "tags", "global-configs", "audit-logs", "change-logs",
]


@extend_schema(exclude=True)
class ApiRoot(APIView):
    """CloudPortal API v1: the collections. Log in with ``POST auth/login/``."""

    permission_classes = [AllowAny]

    def get(self, request):
        links = {}
        for name in COLLECTIONS:
            try:
                links[name] = request.build_absolute_uri(reverse(f"{name}-list"))
            except NoReverseMatch:
                continue
        links["auth/login"] = request.build_absolute_uri(reverse("login"))
        links["schema"] = request.build_absolute_uri(reverse("schema"))
        links["docs"] = request.build_absolute_uri(reverse("api-docs"))
        return Response(links)
