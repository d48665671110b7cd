"""`portal serve --workers N` hands its workers a listener marked as TCP, so that every accepted
connection gets TCP_NODELAY as in one process (no delayed-ACK wait on keep-alive requests).
Checked on real sockets, with the asyncio event loop the workers run."""

from __future__ import annotations

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor

import uvicorn

from app.cli.serving import tcp_listener
from tests.helpers import free_port


def _nodelay_of_accepted(listener: socket.socket) -> int:
    """Accept one real connection through asyncio's server on `listener`; its TCP_NODELAY."""
    seen: list[int] = []

    class Report(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Report, sock=listener)
        host, port = listener.getsockname()[:2]
        _reader, writer = await asyncio.open_connection(host, port)
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
        writer.close()
        server.close()
        await server.wait_closed()

    # Its own thread: the browser tests leave an event loop running in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, main()).result()
    return seen[0]


def test_the_listener_for_several_workers_gives_connections_tcp_nodelay() -> None:
    config = uvicorn.Config("app.asgi:app", host="127.0.0.1", port=free_port(), workers=2)
    as_uvicorn_binds_it = config.bind_socket()
    assert as_uvicorn_binds_it.proto == 0  # what --workers would hand the workers
    assert _nodelay_of_accepted(as_uvicorn_binds_it) == 0
    fixed = tcp_listener(uvicorn.Config("app.asgi:app", host="127.0.0.1", port=free_port(), workers=2))
    assert fixed.proto == socket.IPPROTO_TCP and fixed.get_inheritable()
    assert _nodelay_of_accepted(fixed) != 0
