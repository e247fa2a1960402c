"""A TCP proxy on 127.0.0.1 that a test can cut and restore: a database that stops answering for
one process only, while the shared server keeps running for everyone else.

    with TcpProxy(("127.0.0.1", 5432)) as proxy:
        ...  # point one process at 127.0.0.1:proxy.port
        proxy.cut()      # live connections reset, new ones accepted then closed at once
        proxy.restore()  # new connections pass again

A cut connection is reset rather than left hanging, as when the server's host goes away and the
kernel says so: the client learns it at its next request instead of waiting for a timeout.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from types import TracebackType


class TcpProxy:
    """Forward connections from a local port to `target`, until cut."""

    def __init__(self, target: tuple[str, int]) -> None:
        """Prepare the proxy; ``start()`` (or ``with``) listens."""
        self.target = target
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._cut = False
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The local port clients connect to."""
        if self._listener is None:
            raise RuntimeError("start the proxy first")
        return int(self._listener.getsockname()[1])

    def start(self) -> TcpProxy:
        """Listen on a free port of 127.0.0.1 and forward in background threads."""
        listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self._listener = listener
        self._thread = threading.Thread(target=self._accept, name="TcpProxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and reset every connection."""
        if self._listener is not None:
            with contextlib.suppress(OSError):  # wakes the thread blocked in accept(),
                self._listener.shutdown(socket.SHUT_RDWR)  # which close() alone would not
            self._listener.close()
        self.cut()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def cut(self) -> None:
        """Reset the live connections; refuse new ones until `restore`."""
        with self._lock:
            self._cut = True
            doomed, self._open = self._open, set()
        for sock in doomed:
            _reset(sock)

    def restore(self) -> None:
        """Let new connections through again."""
        with self._lock:
            self._cut = False

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # stopped
            with self._lock:
                refused = self._cut
            if refused:
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        """Copy bytes one way until either side closes; then close both."""
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass  # reset by cut(), or by a peer
        for sock in (source, sink):
            with self._lock:
                self._open.discard(sock)
            _reset(sock)


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0), as a vanished peer's kernel would answer."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # Closing alone would not wake the thread blocked in recv() on it; this does, silently.
        sock.shutdown(socket.SHUT_RD)
    except OSError:
        pass  # already closed
    sock.close()
