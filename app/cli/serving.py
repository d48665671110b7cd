"""Running the web app under uvicorn, in this process or as several worker processes.

With `--workers N` uvicorn binds the listening socket itself and hands it to the workers.
asyncio turns on TCP_NODELAY only for accepted sockets whose protocol says TCP, so the socket
must be created with IPPROTO_TCP: uvicorn does so from 0.55.0 (before, every keep-alive request
after the first waited for the client's delayed ACK, about 40 ms on Linux; Kludex/uvicorn#3149).
`tests/foundation/test_serving.py` checks it on real sockets.
"""

from __future__ import annotations

import contextlib
import sys

import uvicorn
from uvicorn.supervisors import Multiprocess

STARTUP_FAILURE = 3  # uvicorn's exit code when the server could not start


def run(config: uvicorn.Config) -> None:
    """Serve `config` in this process, or with its worker processes sharing one listener."""
    if config.workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
