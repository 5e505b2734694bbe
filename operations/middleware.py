"""Request handling that comes before the project's own: health probes."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

from operations import health


class ProbeMiddleware(MiddlewareMixin):
    """Answers ``/healthz`` and ``/readyz`` before any other middleware sees the request.

    First in ``MIDDLEWARE``: load balancers probe by IP address (not a host in ``ALLOWED_HOSTS``) and over plain
    http inside the network (no redirect to https), and a probe needs no session, no user and no CSRF token.
    """

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        probe = health.PROBES.get(request.path_info)
        return probe(request) if probe is not None else None

