"""Fixtures of the plugin's own suite: pytester, a folder of tiny experiments, an echo server."""

from __future__ import annotations

import shutil
import socket
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from echo import EchoServer

pytest_plugins = ["pytester"]

HERE = Path(__file__).parent
#: The sample experiments are data for pytester, not items of this suite.
collect_ignore = ["experiments"]


def plugin_installed() -> bool:
    """Whether the plugin is installed (its pytest11 entry point), as from the wheel."""
    return any(ep.name == "shakedown" for ep in entry_points(group="pytest11"))


#: Arguments every inner pytest run needs: the plugin by name when it is not installed (a run
#: from the source tree with PYTHONPATH=python/src), and no cache folder.
INNER_ARGS = ([] if plugin_installed() else ["-p", "pytest_shakedown.plugin"]) + ["-p", "no:cacheprovider"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def experiments(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The sample experiments copied into pytester's folder as ``experiments/``, with free ports
    for the passing one and run folders kept under the test's own temporary folder."""
    target = pytester.path / "experiments"
    shutil.copytree(HERE / "experiments", target)
    monkeypatch.setenv("PASSING_PORT", str(free_port()))
    monkeypatch.setenv("PASSING_PROXY_PORT", str(free_port()))
    scratch = tmp_path / "runs"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    return target


@pytest.fixture
def echo_server():
    """A TCP echo server on 127.0.0.1; its ``address`` is ``HOST:PORT``."""
    server = EchoServer()
    yield server
    server.close()
