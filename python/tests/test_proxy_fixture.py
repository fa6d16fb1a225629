"""The shakedown_proxy fixture: a real `shakedown serve`, a latency a test observes through a
real TCP echo server, and nothing left after a failing test."""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest
from conftest import INNER_ARGS
from echo import round_trip

from pytest_shakedown.proxy import ApiError, FaultServer

#: The injected latency, and the bound that separates a delayed round trip from a direct one
#: (a loopback echo through the proxy takes milliseconds; with the toxic, at least 500 ms).
LATENCY_MS = 500
SLOW_S = 0.45


def test_latency_is_observed_and_removed_with_its_block(shakedown_proxy, echo_server):
    proxy = shakedown_proxy.create("echo", upstream=echo_server.address)
    assert proxy.host == "127.0.0.1" and proxy.port > 0
    assert round_trip(proxy.listen) < SLOW_S
    with proxy.add_latency(LATENCY_MS) as toxic:
        assert toxic.name == "latency_downstream"
        assert [(t["type"], t["attributes"]["latency"]) for t in proxy.toxics()] == [("latency", LATENCY_MS)]
        assert round_trip(proxy.listen) >= SLOW_S
    assert proxy.toxics() == []
    assert round_trip(proxy.listen) < SLOW_S


def test_toxic_by_type_and_reset(shakedown_proxy, echo_server):
    proxy = shakedown_proxy.create("echo", upstream=echo_server.address)
    proxy.toxic("latency", name="slow-up", stream="upstream", latency=LATENCY_MS)
    assert round_trip(proxy.listen) >= SLOW_S
    shakedown_proxy.reset()
    assert proxy.toxics() == []
    assert round_trip(proxy.listen) < SLOW_S


def test_refused_requests_raise_with_the_servers_message(shakedown_proxy, echo_server):
    with pytest.raises(ApiError) as bad_name:
        shakedown_proxy.create("my db", upstream=echo_server.address)
    assert bad_name.value.status == 400 and "name" in bad_name.value.message
    proxy = shakedown_proxy.create("echo", upstream=echo_server.address)
    with pytest.raises(ApiError) as bad_type:
        proxy.toxic("earthquake")
    assert bad_type.value.status == 400
    assert shakedown_proxy.proxies()["echo"]["toxics"] == []


INNER_TESTS = f"""
import json
from pathlib import Path

from echo import EchoServer, round_trip


def test_fails_with_latency_in_place(shakedown_proxy):
    echo = EchoServer()
    proxy = shakedown_proxy.create("echo", upstream=echo.address)
    proxy.add_latency({LATENCY_MS})
    Path("failing.json").write_text(json.dumps({{
        "pid": shakedown_proxy.process.pid, "api": shakedown_proxy.address,
        "listen": proxy.listen, "slow": round_trip(proxy.listen), "toxics": proxy.toxics(),
    }}))
    assert False, "deliberate failure with the latency in place"


def test_next_test_starts_clean(shakedown_proxy):
    echo = EchoServer()
    proxy = shakedown_proxy.create("echo", upstream=echo.address)
    Path("next.json").write_text(json.dumps({{
        "proxies": list(shakedown_proxy.proxies()), "toxics": proxy.toxics(),
        "fast": round_trip(proxy.listen),
    }}))
"""


def refused(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_a_failing_test_leaves_no_server_and_no_fault(pytester):
    pytester.makepyfile(echo=(Path(__file__).parent / "echo.py").read_text(), test_inner=INNER_TESTS)
    result = pytester.runpytest(*INNER_ARGS)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*deliberate failure with the latency in place*"])

    failing = json.loads((pytester.path / "failing.json").read_text())
    assert failing["slow"] >= SLOW_S, "the latency was in place during the failing test"
    assert [t["type"] for t in failing["toxics"]] == ["latency"]
    # After it: the server process is gone (reaped), its API and its proxy refuse connections.
    with pytest.raises(ProcessLookupError):
        os.kill(failing["pid"], 0)
    assert refused(failing["api"]) and refused(failing["listen"])
    # The next test gets a server of its own with no proxy and no toxic, and a fast path.
    after = json.loads((pytester.path / "next.json").read_text())
    assert after["proxies"] == ["echo"] and after["toxics"] == []
    assert after["fast"] < SLOW_S


def test_a_server_that_does_not_start_is_reported_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(FileNotFoundError):
        FaultServer.start(str(tmp_path / "no-such-binary"))
    with pytest.raises(RuntimeError, match="exited with code 1 before listening"):
        FaultServer.start(shutil.which("false"))
    assert list(tmp_path.iterdir()) == []
