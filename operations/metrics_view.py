"""``/metrics``: the figures of operations.metrics in Prometheus' text format, for a scraper holding the token.

Call volumes and outcomes are business data, so the scraper must send ``Authorization: Bearer <METRICS_TOKEN>``.
Without a token configured the endpoint does not exist (404), whoever asks: a request through a reverse proxy
on the same host comes from a loopback address too, so "loopback only" would not keep it private.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

from operations import metrics


def _bearer_token(request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def token_is_valid(given: str, expected: str) -> bool:
    """Compared in constant time, so that the answer's timing tells nothing about the token."""
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


@never_cache
@require_GET
def metrics_view(request):
    expected = settings.METRICS_TOKEN
    if not expected:
        raise Http404("metrics are not enabled (METRICS_TOKEN is not set)")
    if not token_is_valid(_bearer_token(request), expected):
        response = HttpResponse("a valid bearer token is needed\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    # The classic text format (0.0.4), which every Prometheus reads; CONTENT_TYPE_LATEST would announce 1.0.0.
    return HttpResponse(generate_latest(metrics.registry()), content_type=CONTENT_TYPE_PLAIN_0_0_4)
