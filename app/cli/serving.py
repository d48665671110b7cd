"""Running the web app under uvicorn, with the listening socket fixed for several workers.

With `--workers N` uvicorn binds the socket itself and hands it to the worker processes, but
creates it with protocol 0; asyncio turns on TCP_NODELAY only for accepted sockets whose
protocol says TCP, so every keep-alive request after the first would wait for the client's
delayed ACK (about 40 ms on Linux; Kludex/uvicorn#3149). `tcp_listener` re-wraps the same
socket with IPPROTO_TCP, so the workers' connections get TCP_NODELAY as one process's do.
"""

from __future__ import annotations

import contextlib
import socket
import sys

import uvicorn
from uvicorn.supervisors import Multiprocess

STARTUP_FAILURE = 3  # uvicorn's exit code when the server could not start


def tcp_listener(config: uvicorn.Config) -> socket.socket:
    """The socket uvicorn would bind, marked as TCP so that accepted connections get TCP_NODELAY."""
    bound = config.bind_socket()
    if bound.family not in (socket.AF_INET, socket.AF_INET6) or bound.proto == socket.IPPROTO_TCP:
        return bound
    listener = socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())
    listener.set_inheritable(True)
    return listener


def run(config: uvicorn.Config) -> None:
    """Serve `config` in this process, or with its worker processes sharing one listener."""
    if config.workers > 1:
        Multiprocess(config, sockets=[tcp_listener(config)]).run()
        return
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
