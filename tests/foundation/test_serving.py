"""`portal serve --workers N` hands its workers a listener created as TCP, so that every accepted
connection gets TCP_NODELAY as in one process (no delayed-ACK wait on keep-alive requests).
Checked on real sockets, with the asyncio event loop the workers run."""

from __future__ import annotations

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor

import uvicorn

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
    listener = config.bind_socket()  # what `serving.run` hands the worker processes
    assert listener.proto == socket.IPPROTO_TCP and listener.get_inheritable()
    assert _nodelay_of_accepted(listener) != 0


def test_a_listener_created_without_the_tcp_protocol_would_not() -> None:
    """The check above can fail: asyncio leaves TCP_NODELAY off on such a listener's connections."""
    plain = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
    plain.bind(("127.0.0.1", free_port()))
    plain.listen()
    assert _nodelay_of_accepted(plain) == 0
