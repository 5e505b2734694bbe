"""WebSocket routes. The voice app adds the Twilio media stream here."""

websocket_urlpatterns: list = []
