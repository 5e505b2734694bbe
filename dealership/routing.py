"""WebSocket routes of every app."""

from voice.routing import websocket_urlpatterns as voice_routes

websocket_urlpatterns: list = [*voice_routes]
