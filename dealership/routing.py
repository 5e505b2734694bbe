"""WebSocket routes of every app.

Each app's public routes authenticate their own upgrade (Twilio's media stream checks its signature). Routes
for staff pages are served under ``ws/staff/`` behind the admin's session (the signed-in user is
``scope["user"]``) and an Origin check against ALLOWED_HOSTS, so another site cannot open them with a staff
member's cookie.
"""

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import re_path

from voice.routing import staff_websocket_urlpatterns as voice_staff_routes
from voice.routing import websocket_urlpatterns as voice_routes

staff_routes = AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter([*voice_staff_routes])))

# A prefix (no "$"): the staff router below matches the rest of the path.
websocket_urlpatterns: list = [*voice_routes, re_path(r"^ws/staff/", staff_routes)]
