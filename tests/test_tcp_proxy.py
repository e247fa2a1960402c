"""The test TCP proxy: forwards, then resets and refuses while cut, then forwards again."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.tcp_proxy import TcpProxy


@pytest.fixture
def echo() -> Iterator[tuple[str, int]]:
    """An echo server on 127.0.0.1: its address."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(client,), daemon=True).start()

    def answer(client: socket.socket) -> None:
        with client:
            try:
                while data := client.recv(1024):
                    client.sendall(data)
            except OSError:
                pass

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()
    server.close()


def exchange(port: int, data: bytes) -> bytes:
    """Connect through the proxy, send data, read the answer (b"" if the connection ends)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.sendall(data)
        return client.recv(1024)


def test_cut_resets_live_connections_and_refuses_new_ones(echo: tuple[str, int]) -> None:
    """A cut resets the open connection and the next ones; restore lets new ones through."""
    with TcpProxy(echo) as proxy:
        live = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        live.sendall(b"hello")
        assert live.recv(1024) == b"hello"
        proxy.cut()
        with pytest.raises(ConnectionError):  # reset (or a broken pipe, after it)
            live.sendall(b"again")
            live.recv(1024)
        live.close()
        with pytest.raises(ConnectionError):  # reset (or a broken pipe, after it)
            exchange(proxy.port, b"new")
        proxy.restore()
        assert exchange(proxy.port, b"back") == b"back"
