"""Probes for load balancers and supervisors."""

from django.http import HttpResponse


def healthz(request):
    """Liveness: the process answers HTTP."""
    return HttpResponse("ok", content_type="text/plain")
