"""The voice app's WebSocket routes: Twilio's media stream."""

from django.urls import path

from voice.consumer import MediaStreamConsumer

websocket_urlpatterns = [path("ws/voice/", MediaStreamConsumer.as_asgi())]
