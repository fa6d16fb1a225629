"""The pytest plugin (entry point ``pytest11: shakedown``).

- Collection: YAML files under the ``shakedown_paths`` ini setting, or under a path given on the
  command line, that look like experiments (:mod:`.experiment_file`) become one
  :class:`ExperimentItem` each, named after the file, marked ``shakedown`` and with each of the
  file's ``tags`` as a marker (registered, so ``--strict-markers`` accepts them).
- Running: setup runs ``shakedown validate FILE`` (a problem is an *error*), the test runs
  ``shakedown run FILE --json JOURNAL`` and reports its exit code (:mod:`.outcome`).
- The ``shakedown_proxy`` fixture (:mod:`.proxy`).
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from .binary import BinaryNotFound, find_binary
from .experiment_file import SUFFIXES, ExperimentHeader, read_header
from .outcome import judge, unexpected_exit
from .proxy import FaultServer

class ExperimentFailed(Exception):
    """The experiment ran and its verdict was FAILED (``shakedown run`` exit 1)."""


#: Tags usable as markers: what pytest's ``-m`` expressions can name.
_MARKER_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*$")
#: Tags that act as pytest's own markers rather than as labels.
_PYTEST_MARKERS = {
    "skip": pytest.mark.skip(reason="tagged `skip` in the experiment file"),
    # Only a verdict (exit 1) is the expected failure: an invalid file, a missing binary or an
    # aborted run stays an error or a failure, never an xfail that passes the suite.
    "xfail": pytest.mark.xfail(
        reason="tagged `xfail` in the experiment file", strict=True, raises=ExperimentFailed
    ),
}
#: How long an interrupted run may take to tear down after SIGTERM before it is killed.
TEARDOWN_TIMEOUT_S = 60.0


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("shakedown", "shakedown experiments")
    group.addoption(
        "--shakedown-var",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="pass --var KEY=VALUE to every shakedown experiment (repeatable)",
    )
    parser.addini(
        "shakedown_paths",
        type="paths",
        default=[],
        help="folders (or files) whose YAML experiment files pytest collects",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "shakedown: a shakedown experiment file run as a test")


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if file_path.suffix not in SUFFIXES or not _eligible(parent.config, file_path):
        return None
    header = read_header(file_path)
    if header is None:
        return None
    return ExperimentFile.from_parent(parent, path=file_path, header=header)


def _eligible(config: pytest.Config, path: Path) -> bool:
    """Under a ``shakedown_paths`` entry, or under a path given explicitly on the command line
    (not one pytest chose itself from ``testpaths`` or the current folder)."""
    roots = list(config.getini("shakedown_paths"))
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        invocation = config.invocation_params.dir
        roots += [invocation / arg.split("::", 1)[0] for arg in config.args]
    path = path.resolve()
    for root in roots:
        root = Path(root).resolve()
        if path == root or root in path.parents:
            return True
    return False


class ExperimentFile(pytest.File):
    """A YAML experiment file: one item, named after the file."""

    def __init__(self, *, header: ExperimentHeader, **kwargs):
        super().__init__(**kwargs)
        self.header = header

    def collect(self):
        yield ExperimentItem.from_parent(self, name=self.path.stem, header=self.header)


class ExperimentItem(pytest.Item):
    """One experiment, run by ``shakedown run``; ``-k`` also matches its title."""

    def __init__(self, *, header: ExperimentHeader, **kwargs):
        super().__init__(**kwargs)
        self.header = header
        self.add_marker("shakedown")
        for tag in header.tags:
            if tag in _PYTEST_MARKERS:
                self.add_marker(_PYTEST_MARKERS[tag])
            elif _MARKER_NAME.match(tag):
                _register_marker(self.config, tag)
                self.add_marker(tag)
        if header.title:
            self.extra_keyword_matches.add(header.title)

    def setup(self) -> None:
        self.binary = _binary()
        done = self._shakedown("validate", str(self.path))
        _echo(done)
        if done.returncode == 2:
            pytest.fail(f"invalid experiment (exit 2):\n{(done.stdout + done.stderr).strip()}", pytrace=False)
        if done.returncode != 0:
            pytest.fail(unexpected_exit(done.returncode, done.stderr), pytrace=False)

    def runtest(self) -> None:
        with tempfile.TemporaryDirectory(prefix="pytest-shakedown-") as scratch:
            journal = Path(scratch) / "journal.json"
            done = self._shakedown("run", str(self.path), "--json", str(journal))
            _echo(done)
            verdict = judge(done.returncode, journal, done.stderr)
        if verdict.kind == "skipped":
            pytest.skip(verdict.message)
        if verdict.kind == "failed" and done.returncode == 1:
            raise ExperimentFailed(verdict.message)
        if verdict.kind == "failed":
            pytest.fail(verdict.message, pytrace=False)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ExperimentFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, 0, f"{self.path.name}: {self.header.title or self.name}"

    def _shakedown(self, command: str, *args: str) -> subprocess.CompletedProcess:
        """Run ``shakedown COMMAND ARGS --var …`` to its end. If pytest is interrupted meanwhile,
        the run gets SIGTERM (unless Ctrl-C already reached it) and time to tear down."""
        variables = [f"--var={v}" for v in self.config.getoption("shakedown_var")]
        argv = [self.binary, command, *args, *variables]
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            stdout, stderr = process.communicate()
        except BaseException as interruption:
            if not isinstance(interruption, KeyboardInterrupt):
                process.send_signal(signal.SIGTERM)
            try:
                process.communicate(timeout=TEARDOWN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
            raise
        return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)


def _binary() -> str:
    try:
        return find_binary()
    except BinaryNotFound as e:
        pytest.fail(str(e), pytrace=False)


def _echo(done: subprocess.CompletedProcess) -> None:
    """Show a command's output in pytest's captured output (the report and its step table)."""
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)


def _register_marker(config: pytest.Config, tag: str) -> None:
    """Declare ``tag`` as a marker (once) so ``--strict-markers`` and ``pytest --markers`` know it."""
    known = {line.split(":", 1)[0].split("(", 1)[0].strip() for line in config.getini("markers")}
    if tag not in known:
        config.addinivalue_line("markers", f"{tag}: shakedown experiment tag")


@pytest.fixture
def shakedown_proxy():
    """A running ``shakedown serve`` on 127.0.0.1 (port chosen by the server) as a
    :class:`pytest_shakedown.proxy.FaultServer`: ``create(name, upstream)`` gives a proxy whose
    ``add_latency(ms)``, ``toxic(type, **attributes)`` add faults. After the test, pass or fail,
    every toxic and proxy is removed and the process is stopped."""
    server = FaultServer.start(_binary())
    try:
        yield server
    finally:
        server.close()
