"""The exit-code mapping of docs/pytest.md for the codes the sample experiments cannot produce."""

from __future__ import annotations

import json

from pytest_shakedown.outcome import Verdict, judge


def test_exit_5_is_a_skip(tmp_path):
    assert judge(5, tmp_path / "none.json", "") == Verdict(
        "skipped", "shakedown selected nothing to run (exit 5)"
    )


def test_a_signal_or_a_crash_fails_with_the_end_of_stderr(tmp_path):
    assert judge(-9, tmp_path / "none.json", "") == Verdict("failed", "shakedown killed by SIGKILL")
    stderr = "\n".join(f"line {i}" for i in range(30))
    crash = judge(101, tmp_path / "none.json", stderr)
    assert crash.kind == "failed"
    assert crash.message.splitlines() == ["shakedown exited with code 101"] + [
        f"line {i}" for i in range(10, 30)
    ]


def test_a_failed_run_without_its_journal_is_still_a_failure(tmp_path):
    journal = tmp_path / "journal.json"
    journal.write_text("{not json")
    assert judge(1, journal, "boom") == Verdict("failed", "shakedown exited with code 1\nboom")


def test_repeated_runs_are_named(tmp_path):
    journal = tmp_path / "journal.json"
    failed = {
        "name": "lost_writes",
        "passed": False,
        "evaluated": True,
        "expected": "≤ 0",
        "observed": "3 lost",
    }
    held = {"name": "rollbacks succeeded", "passed": True, "evaluated": True}
    runs = [{"run": 1, "expectations": [held]}, {"run": 2, "expectations": [failed, held]}]
    journal.write_text(json.dumps({"experiments": [{"status": "failed", "runs": runs}]}))
    assert judge(1, journal, "").message == "1 expectation failed:\n  run 2: ✗ lost_writes: expected ≤ 0, observed 3 lost"
