"""A running ``shakedown serve`` and a small client of its Toxiproxy-compatible control API.

The ``shakedown_proxy`` fixture yields a :class:`FaultServer`: create proxies in front of the
services a test talks to, then add and remove faults (toxics) around the test's own calls::

    def test_client_retries(shakedown_proxy, echo_server):
        db = shakedown_proxy.create("db", upstream=echo_server)   # listens on 127.0.0.1:<free>
        with db.add_latency(300):                                 # removed when the block ends
            ...                                                   # talk to db.listen
        db.toxic("reset_peer", timeout=0)                         # stays until removed or reset

Attributes are in Toxiproxy's units (``latency`` in milliseconds, ``rate`` in KB/s); the types
and their attributes are in docs/faults.md. Every refused request raises :class:`ApiError` with
the server's message and status (a bad name, an unknown type, a port in use).
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from typing import Any

#: How long the server may take to print its ``listening on`` line.
START_TIMEOUT_S = 15.0
#: How long a stopping server may take to exit after SIGTERM before it is killed.
STOP_TIMEOUT_S = 10.0
#: Timeout of one control API request.
REQUEST_TIMEOUT_S = 10.0


class ApiError(RuntimeError):
    """The control API refused a request: ``status`` is the HTTP status, ``message`` its text."""

    def __init__(self, method: str, path: str, status: int, message: str):
        super().__init__(f"{method} {path}: {status} {message}")
        self.status = status
        self.message = message


class FaultServer:
    """``shakedown serve`` on 127.0.0.1, a port of its choosing, and a client of its API.

    Start it with :meth:`start`; :meth:`close` removes every toxic and proxy (``POST /reset``,
    then each proxy deleted) and stops the process (SIGTERM, SIGKILL after 10 s). The fixture
    calls it after the test, whatever the test's outcome.
    """

    def __init__(self, process: subprocess.Popen, address: str, log_path: str):
        self.process = process
        #: ``HOST:PORT`` of the control API.
        self.address = address
        #: ``http://HOST:PORT``: point any Toxiproxy client here.
        self.url = f"http://{address}"
        #: The server's stderr (its log), kept until :meth:`close`.
        self.log_path = log_path

    @classmethod
    def start(cls, binary: str, *, seed: int | None = None) -> FaultServer:
        """Run ``BINARY serve --host 127.0.0.1 --port 0`` and wait for its ``listening on``
        line (at most 15 s). Raises ``RuntimeError`` with the server's log if it exits first."""
        fd, log_path = tempfile.mkstemp(prefix="shakedown-serve-", suffix=".log")
        command = [binary, "serve", "--host", "127.0.0.1", "--port", "0"]
        if seed is not None:
            command += ["--seed", str(seed)]
        process = None
        try:
            with os.fdopen(fd, "wb") as log:
                process = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log
                )
            address = _read_address(process, log_path)
        except BaseException:
            if process is not None:
                _stop(process)
            os.unlink(log_path)
            raise
        return cls(process, address, log_path)

    def create(self, name: str, upstream: str, listen: str = "127.0.0.1:0") -> Proxy:
        """Create proxy ``name`` forwarding to ``upstream`` (``HOST:PORT``); ``listen`` defaults
        to a free loopback port, read back in :attr:`Proxy.listen`."""
        body = self.request("POST", "/proxies", {"name": name, "upstream": upstream, "listen": listen})
        return Proxy(self, body)

    def proxies(self) -> dict[str, dict]:
        """Every proxy as the API shows it: name → ``{name, listen, upstream, enabled, toxics}``."""
        return self.request("GET", "/proxies")

    def reset(self) -> None:
        """Remove every toxic and enable every proxy (``POST /reset``)."""
        self.request("POST", "/reset")

    def close(self) -> None:
        """Remove every toxic and proxy, then stop the server. Safe to call twice."""
        if self.process.poll() is None:
            try:
                self.reset()
                for name in list(self.proxies()):
                    self.request("DELETE", f"/proxies/{name}")
            except (OSError, ApiError):
                pass  # the process is stopped below whatever the API said
            _stop(self.process)
        if os.path.exists(self.log_path):
            os.unlink(self.log_path)

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """One API request; the decoded JSON answer (``None`` for 204). Raises :class:`ApiError`."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as answer:
                payload = answer.read()
        except urllib.error.HTTPError as e:
            text = e.read().decode("utf-8", "replace")
            try:
                text = json.loads(text).get("error", text)
            except (ValueError, AttributeError):
                pass
            raise ApiError(method, path, e.code, text) from None
        return json.loads(payload) if payload else None

    def __enter__(self) -> FaultServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Proxy:
    """One proxy of a :class:`FaultServer`: ``listen`` is where the test connects."""

    def __init__(self, server: FaultServer, body: dict):
        self.server = server
        self.name: str = body["name"]
        #: ``HOST:PORT`` the proxy listens on (the real port when created with port 0).
        self.listen: str = body["listen"]
        self.upstream: str = body["upstream"]

    @property
    def host(self) -> str:
        """The listening host."""
        return self.listen.rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        """The listening port."""
        return int(self.listen.rsplit(":", 1)[1])

    def toxic(
        self,
        type: str,
        *,
        name: str | None = None,
        stream: str = "downstream",
        toxicity: float = 1.0,
        **attributes: int,
    ) -> Toxic:
        """Add a toxic of ``type`` (latency, bandwidth, slow_close, timeout, reset_peer, slicer,
        limit_data, noop, …) with its ``attributes``; ``name`` defaults to ``TYPE_STREAM``.
        The returned :class:`Toxic` removes itself at the end of a ``with`` block."""
        body = {"type": type, "stream": stream, "toxicity": toxicity, "attributes": attributes}
        if name is not None:
            body["name"] = name
        created = self.server.request("POST", f"/proxies/{self.name}/toxics", body)
        return Toxic(self, created)

    def add_latency(self, ms: int, jitter: int = 0, **options) -> Toxic:
        """Delay data by ``ms`` milliseconds (± ``jitter`` ms); see :meth:`toxic` for options."""
        return self.toxic("latency", latency=ms, jitter=jitter, **options)

    def add_timeout(self, ms: int = 0, **options) -> Toxic:
        """Stop all data, closing the connection after ``ms`` (0: never, a blackhole)."""
        return self.toxic("timeout", timeout=ms, **options)

    def add_reset_peer(self, ms: int = 0, **options) -> Toxic:
        """Reset connections (TCP RST) after ``ms`` milliseconds."""
        return self.toxic("reset_peer", timeout=ms, **options)

    def add_bandwidth(self, kb_per_s: int, **options) -> Toxic:
        """Limit throughput to ``kb_per_s`` KB/s."""
        return self.toxic("bandwidth", rate=kb_per_s, **options)

    def toxics(self) -> list[dict]:
        """The toxics in place, as the API shows them."""
        return self.server.request("GET", f"/proxies/{self.name}/toxics")

    def remove_toxic(self, name: str) -> None:
        """Remove toxic ``name``; raises :class:`ApiError` (404) if there is none."""
        self.server.request("DELETE", f"/proxies/{self.name}/toxics/{name}")

    def set_enabled(self, enabled: bool) -> None:
        """Disable (close the listener and every connection) or enable the proxy again."""
        self.server.request("POST", f"/proxies/{self.name}", {"enabled": enabled})

    def delete(self) -> None:
        """Delete the proxy: its listener and every connection close."""
        self.server.request("DELETE", f"/proxies/{self.name}")


class Toxic:
    """A toxic in place on a :class:`Proxy`; a context manager that removes it on exit."""

    def __init__(self, proxy: Proxy, body: dict):
        self.proxy = proxy
        self.name: str = body["name"]
        self.type: str = body["type"]
        self.stream: str = body.get("stream", "downstream")
        self.attributes: dict = body.get("attributes", {})
        self.removed = False

    def remove(self) -> None:
        """Remove the toxic; removing it again (or after a reset) does nothing."""
        if self.removed:
            return
        try:
            self.proxy.remove_toxic(self.name)
        except ApiError as e:
            if e.status != 404:
                raise
        self.removed = True

    def __enter__(self) -> Toxic:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def _read_address(process: subprocess.Popen, log_path: str) -> str:
    """The ``HOST:PORT`` of the server's ``listening on HOST:PORT`` line (at most 15 s)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    buffer = b""
    try:
        while b"\n" not in buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(
                    f"shakedown serve did not report its address within {START_TIMEOUT_S:.0f} s"
                )
            if selector.select(timeout=left):
                chunk = os.read(process.stdout.fileno(), 4096)
                if not chunk:
                    break
                buffer += chunk
    finally:
        selector.close()
    line = buffer.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
    prefix = "listening on "
    if not line.startswith(prefix):
        process.wait(timeout=STOP_TIMEOUT_S)
        with open(log_path, encoding="utf-8", errors="replace") as log:
            raise RuntimeError(
                f"shakedown serve exited with code {process.returncode} before listening:\n{log.read()}"
            )
    return line[len(prefix) :]


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM (the server removes its proxies and exits 0), SIGKILL after 10 s; reaped."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()
