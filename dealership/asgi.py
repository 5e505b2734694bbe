"""ASGI entry point served by Daphne: HTTP through Django, WebSockets through Channels."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealership.settings")

# Django must be set up before anything imports models (the WebSocket routes do).
django_http = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from dealership.routing import websocket_urlpatterns  # noqa: E402
from voice.preload import load_call_path  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_http,
        # Twilio's media-stream upgrade carries no Origin header, so no origin validator around every
        # route: each public consumer authenticates its own upgrade, and staff routes get the admin
        # session and an origin check in dealership.routing.
        "websocket": URLRouter(websocket_urlpatterns),
    }
)

# Everything loaded so far lives as long as the process. Moved out of the collector's sight, it is not
# walked again by every full collection, which otherwise stalls all calls on this process for 100 ms or more.
# What the calls would load on first use is loaded first, so that it is frozen too.
load_call_path()
gc.freeze()
