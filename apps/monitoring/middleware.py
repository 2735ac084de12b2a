import time

from .portal_metrics import API_LATENCY


class ApiLatencyMiddleware:
    """Times each API request, labelled by its URL's name (not its path: one series per endpoint,
    not per object)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        began = time.perf_counter()
        response = self.get_response(request)
        if request.path.startswith("/api/"):
            match = request.resolver_match
            endpoint = match.view_name if match else "unmatched"
            API_LATENCY.labels(endpoint, request.method, f"{response.status_code // 100}xx").observe(
                time.perf_counter() - began)
        return response
