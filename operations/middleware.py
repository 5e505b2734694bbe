"""Request handling that comes before the project's own: health probes, and the client's address behind proxies."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

from operations import health
from operations.metrics_view import metrics_view

# Asked for by machines inside the network: load balancers and Prometheus. /metrics checks its own token.
EARLY = {**health.PROBES, "/metrics": metrics_view}


class ProbeMiddleware(MiddlewareMixin):
    """Answers ``/healthz``, ``/readyz`` and ``/metrics`` before any other middleware sees the request.

    First in ``MIDDLEWARE``: load balancers and scrapers reach a server process by IP address (not a host in
    ``ALLOWED_HOSTS``) and over plain http inside the network (no redirect to https), and need no session, no
    user and no CSRF token.
    """

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        view = EARLY.get(request.path_info)
        return view(request) if view is not None else None


def client_ip_address(request: HttpRequest) -> str | None:
    """The address a request came from, for login throttling (``AXES_CLIENT_IP_CALLABLE``).

    With ``TRUSTED_PROXY_COUNT`` = 0 it is the connection's own address. With N proxies in front, each of which
    appends the address it received the request from to ``X-Forwarded-For``, it is the N-th entry from the right:
    the entries further left were written by the client and prove nothing. A header shorter than that, or an
    entry that is not an IP address, means the request did not come through the proxies as configured, and the
    connection's address is used.
    """
    remote = request.META.get("REMOTE_ADDR")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [entry for entry in forwarded if entry]
    if len(forwarded) < count:
        return remote
    candidate = forwarded[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
