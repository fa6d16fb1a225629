"""A TCP echo server on 127.0.0.1 (a thread per connection), for the fixture's tests."""

from __future__ import annotations

import socket
import threading
import time


class EchoServer:
    """Echoes every byte back; ``address`` is ``127.0.0.1:PORT``. Stop with :meth:`close`."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn: socket.socket) -> None:
        with conn:
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                conn.sendall(data)

    def close(self) -> None:
        self.listener.close()


def round_trip(address: str, payload: bytes = b"ping") -> float:
    """Seconds to send ``payload`` to ``address`` and read it back on a new connection."""
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        started = time.monotonic()
        conn.sendall(payload)
        received = b""
        while len(received) < len(payload):
            chunk = conn.recv(4096)
            assert chunk, "connection closed before the echo came back"
            received += chunk
        elapsed = time.monotonic() - started
    assert received == payload
    return elapsed
