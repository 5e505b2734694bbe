"""One server process: Daphne serving ``dealership.asgi``, which drains on SIGTERM instead of cutting calls.

    python -m operations.server --fd 3            # a socket opened by operations.serve (several processes)
    python -m operations.server --host 127.0.0.1 --port 8000

Daphne on its own stops at SIGTERM and cancels every call it carries. Here SIGTERM (or SIGINT) starts a drain:

1. the process stops accepting connections (its copy of the listening socket is closed: the other processes
   sharing it go on accepting) and ``/readyz`` answers 503;
2. the calls it carries go on until they end, for up to ``SERVER_DRAIN_SECONDS`` (default: the maximum call
   length); a second SIGTERM or SIGINT shortens that to now;
3. at the limit every call still live says a short goodbye and hangs up (``request_end``); a call that has not
   ended ``GOODBYE_SECONDS`` later is cut;
4. once no call is live and no HTTP request is being answered, the process exits with status 0.

A third signal exits at once.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time

logger = logging.getLogger("operations.server")

CHECK_EVERY = 0.25  # seconds between looks at what the process still carries while it drains
GOODBYE_SECONDS = 30  # after the limit: time for the goodbyes to be heard and the calls saved
REQUESTS_SECONDS = 10  # after the last call: time for HTTP requests still being answered


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="One Daphne server process that drains on SIGTERM.")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--fd", type=int, help="serve this inherited listening socket")
    where.add_argument("--port", type=int, help="listen on this TCP port (with --host)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--proxy-headers", action="store_true",
                        help="trust X-Forwarded-For/-Port/-Proto (behind a load balancer or TLS proxy)")
    parser.add_argument("--access-log", action="store_true", help="one line per HTTP request on stdout")
    parser.add_argument("--ready-fd", type=int, help="write one line to this pipe once listening")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealership.settings")
    # Daphne installs Twisted's asyncio reactor when imported: before anything else imports Twisted.
    import daphne.server  # noqa: F401
    from daphne.access import AccessLogGenerator
    from twisted.internet import reactor

    from dealership.asgi import application  # sets Django up
    from django.conf import settings

    from operations.draining_server import DrainingServer

    if args.fd is not None:
        endpoints = [f"fd:fileno={args.fd}"]  # an IPv4 socket (the fd parser's default family)
    else:
        endpoints = [f"tcp:port={args.port or 8000}:interface={args.host}"]
    proxy = {"proxy_forwarded_address_header": "X-Forwarded-For", "proxy_forwarded_port_header": "X-Forwarded-Port",
             "proxy_forwarded_proto_header": "X-Forwarded-Proto"} if args.proxy_headers else {}  # fmt: skip
    server = DrainingServer(
        application=application,
        endpoints=endpoints,
        signal_handlers=False,  # ours: a signal drains instead of stopping
        action_logger=AccessLogGenerator(sys.stdout) if args.access_log else None,
        verbosity=0,
        drain_seconds=settings.SERVER_DRAIN_SECONDS,
        goodbye_seconds=GOODBYE_SECONDS,
        requests_seconds=REQUESTS_SECONDS,
        ready_fd=args.ready_fd,
        **proxy,
    )

    def on_signal(signum, frame):
        # Signal handlers run between bytecodes of the reactor's thread: hand the work to the reactor.
        reactor.callFromThread(server.signalled, signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    started = time.monotonic()
    server.run()
    logger.info("server process %s stopped after %.0f s", os.getpid(), time.monotonic() - started)
    return server.exit_status


if __name__ == "__main__":
    sys.exit(main())
