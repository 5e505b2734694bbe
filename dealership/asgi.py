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

FULL_COLLECTION_EVERY_MIDDLE = 100

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
# A full collection still walks every object the live calls hold: 27 ms with 100 calls on the line, a stall
# every call on the process shares. CPython considers one after every 10 middle collections (about every
# 20 s with 100 calls talking) and runs it once the objects promoted since the last one reach a quarter of
# those that survived it, which a growing number of calls soon brings about. Considered after every 100,
# full collections are ten times rarer; the cyclic garbage of ended calls (about 500 objects a call) waits
# longer to be freed, a few megabytes at most. (bench/voice.py, a 25-call round then a 100-call one on the
# same process: one full collection fell in the talk peak and the server's own time per turn p95 was 20.1
# ms; with this, none did, and it was 4.3 ms.)
young, middle, _ = gc.get_threshold()
gc.set_threshold(young, middle, FULL_COLLECTION_EVERY_MIDDLE)
