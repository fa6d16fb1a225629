"""From a finished ``shakedown run`` (its exit code and JSON journal) to a pytest outcome.

The mapping (docs/pytest.md, "Exit codes"):

==========  ===========================================================================
exit code   pytest outcome
==========  ===========================================================================
0           passed
1           failed: one line per failed expectation, ``name: expected X, observed Y``
2           error (invalid file: reported at setup by ``shakedown validate``)
3           failed: ``aborted: REASON`` or ``preflight failed: REASON``, with the
            expectations marked *not evaluated*
5           skipped (nothing was selected)
other       failed: ``shakedown exited with code N`` (or ``killed by signal S``) and the
            last lines of its stderr
==========  ===========================================================================
"""

from __future__ import annotations

import json
import signal
from dataclasses import dataclass
from pathlib import Path

#: Lines of stderr kept in a message about an unexpected exit.
STDERR_TAIL = 20


@dataclass(frozen=True)
class Verdict:
    """What pytest should report: ``kind`` is ``passed``, ``failed`` or ``skipped``; ``message``
    is the failure message or skip reason (empty when passed)."""

    kind: str
    message: str = ""


def judge(code: int, journal_path: Path, stderr: str) -> Verdict:
    """The verdict of a run that exited with ``code`` and wrote (or not) ``journal_path``."""
    if code == 0:
        return Verdict("passed")
    if code == 5:
        return Verdict("skipped", "shakedown selected nothing to run (exit 5)")
    experiment = read_experiment(journal_path)
    if code in (1, 3) and experiment is not None:
        return Verdict("failed", failure_message(experiment))
    return Verdict("failed", unexpected_exit(code, stderr))


def read_experiment(journal_path: Path) -> dict | None:
    """The first experiment of a journal, or ``None`` when the file is missing or unreadable."""
    try:
        document = json.loads(journal_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    experiments = document.get("experiments") if isinstance(document, dict) else None
    if not experiments:
        return None
    return experiments[0]


def failure_message(experiment: dict) -> str:
    """A headline, then one line per failed or unevaluated expectation of each run.

    The headline is ``N expectation(s) failed:`` for a failed run (counted over its runs, each
    listed below; it is also pytest's short summary line), else ``STATUS: REASON``
    (``aborted: guard `x` failed for 2.00 s``).
    """
    status = str(experiment.get("status", "failed")).replace("_", " ")
    runs = experiment.get("runs") or []
    if status == "failed":
        failed = sum(
            1
            for run in runs
            for e in run.get("expectations") or []
            if e.get("evaluated", True) and not e.get("passed")
        )
        lines = [f"{failed} expectation{'' if failed == 1 else 's'} failed:"]
    else:
        lines = [f"{status}: {experiment.get('reason') or 'no reason given'}"]
    for run in runs:
        prefix = f"run {run.get('run')}: " if len(runs) > 1 else ""
        for expectation in run.get("expectations") or []:
            line = expectation_line(expectation)
            if line:
                lines.append(f"  {prefix}{line}")
    return "\n".join(lines)


def expectation_line(expectation: dict) -> str | None:
    """``✗ name: expected X, observed Y`` for a failure, ``- name: not evaluated`` for an
    expectation a shortened run never checked, ``None`` for one that held."""
    name = expectation.get("name", "?")
    if not expectation.get("evaluated", True):
        return f"- {name}: not evaluated"
    if expectation.get("passed"):
        return None
    return f"✗ {name}: expected {expectation.get('expected')}, observed {expectation.get('observed')}"


def unexpected_exit(code: int, stderr: str) -> str:
    """A message for an exit code outside the documented ones (a signal, a crash)."""
    if code < 0:
        try:
            what = f"killed by {signal.Signals(-code).name}"
        except ValueError:
            what = f"killed by signal {-code}"
    else:
        what = f"exited with code {code}"
    tail = "\n".join(stderr.strip().splitlines()[-STDERR_TAIL:])
    return f"shakedown {what}" + (f"\n{tail}" if tail else "")
