"""The admin's "Try the agent" page: staff chat in text with the phone agent, its tools shown as they run.

``forms`` says who calls and whether the changes are kept, ``conversation`` drives the agent for one chat,
``consumer`` translates the page's WebSocket messages to and from it, ``views`` renders the page.
"""

# Where the page opens its socket: voice.routing's staff route under the prefix dealership.routing gives
# staff sockets (signed in by the admin session).
SOCKET_PATH = "/ws/staff/voice/agent-chat/"
