"""The voice app's WebSocket routes: Twilio's media stream, and the admin's agent chat for signed-in staff."""

from django.urls import path

from voice.chat.consumer import AgentChatConsumer
from voice.consumer import MediaStreamConsumer

# Twilio's upgrade carries no session and no Origin: the consumer checks its signature itself.
websocket_urlpatterns = [path("ws/voice/", MediaStreamConsumer.as_asgi())]

# Served by dealership.routing under its staff prefix (ws/staff/), behind the admin session and an origin check;
# voice.chat.SOCKET_PATH is where the page finds it.
staff_websocket_urlpatterns = [path("voice/agent-chat/", AgentChatConsumer.as_asgi())]
