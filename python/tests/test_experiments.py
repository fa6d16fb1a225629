"""Experiment files as pytest items: outcomes, messages, captured report, -k, -m, JUnit, xdist."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import INNER_ARGS


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest(*INNER_ARGS, *args)


def collected(result: pytest.RunResult) -> list[str]:
    """The node ids a ``--collect-only -q`` run printed."""
    return sorted(line for line in result.outlines if "::" in line)


def test_outcomes_messages_and_junit(pytester, experiments):
    junit = pytester.path / "out.xml"
    result = run(pytester, "experiments", "--strict-markers", "-rA", f"--junitxml={junit}")

    result.assert_outcomes(passed=1, failed=2, skipped=1, errors=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    # The failed expectations, expected vs observed, are the failure message.
    result.stdout.fnmatch_lines(
        [
            "*_ failing.yaml: a broken flag file is never repaired _*",
            "2 expectations failed:",
            "  ✗ recovered_within (break the flag): expected ≤ 0.30 s, observed not recovered *",
            "  ✗ steady state holds after the method: expected last sample passes, observed failing at *",
        ]
    )
    # Exit 3: the abort reason, and the expectations it left unevaluated.
    result.stdout.fnmatch_lines(
        [
            "aborted: guard `flag-intact` failed for * s (exit code 1, expected 0)",
            "  - method steps succeeded: not evaluated",
        ]
    )
    # Exit 2 from validate: an error at setup, with the file's problem located.
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of invalid.yaml*",
            "invalid experiment (exit 2):",
            "*invalid.yaml:5:11: duration: `soon` is not a duration*",
        ]
    )
    # The step table is in the captured output.
    result.stdout.fnmatch_lines(
        [
            "*Captured stdout call*",
            "*step * injected * removed * TTD*",
            "*break the flag * 0.3*s * NO",
        ]
    )
    result.stdout.fnmatch_lines(
        ["SKIPPED [1] experiments/skipped.yaml: tagged `skip` in the experiment file"]
    )

    cases = {case.get("name"): case for case in ET.parse(junit).getroot().iter("testcase")}
    assert set(cases) == {"passing", "failing", "aborted", "skipped", "invalid"}
    assert {c.get("classname") for c in cases.values()} == {
        "experiments.passing.yaml",
        "experiments.failing.yaml",
        "experiments.aborted.yaml",
        "experiments.skipped.yaml",
        "experiments.invalid.yaml",
    }
    assert list(cases["passing"]) == [] or all(child.tag.startswith("system") for child in cases["passing"])
    failure = cases["failing"].find("failure")
    assert failure is not None and "✗ recovered_within (break the flag)" in failure.text
    assert "aborted: guard `flag-intact`" in cases["aborted"].find("failure").text
    assert cases["skipped"].find("skipped").get("message") == "tagged `skip` in the experiment file"
    assert "invalid.yaml:5:11: duration" in cases["invalid"].find("error").text


def test_keyword_matches_file_names_and_titles(pytester, experiments):
    by_name = run(pytester, "experiments", "--collect-only", "-q", "-k", "passing or invalid")
    assert collected(by_name) == ["experiments/invalid.yaml::invalid", "experiments/passing.yaml::passing"]
    by_title = run(pytester, "experiments", "--collect-only", "-q", "-k", "repaired")
    assert collected(by_title) == ["experiments/failing.yaml::failing"]


def test_tags_are_registered_markers(pytester, experiments):
    commands = run(pytester, "experiments", "--collect-only", "-q", "--strict-markers", "-m", "commands")
    assert collected(commands) == [
        "experiments/aborted.yaml::aborted",
        "experiments/failing.yaml::failing",
        "experiments/skipped.yaml::skipped",
    ]
    everything = run(pytester, "experiments", "--collect-only", "-q", "-m", "shakedown")
    assert len(collected(everything)) == 5
    # A run selected by tag, with unknown markers refused: only the `writes` experiment runs.
    writes = run(pytester, "experiments", "--strict-markers", "-m", "writes and not latency")
    writes.assert_outcomes(failed=1, deselected=4)


def test_other_yaml_is_left_alone(pytester, experiments):
    pytester.makefile(".yml", **{"experiments/workflow": "on: push\njobs:\n  build: {runs-on: x}\n"})
    pytester.makefile(".yaml", **{"experiments/compose": "services:\n  db: {image: x}\n"})
    pytester.makefile(".yaml", **{"experiments/notes": "duration: 3s\nnothing: else\n"})
    # Broken YAML with an experiment's keys is still collected, and shakedown says what is wrong.
    pytester.makefile(".yaml", **{"experiments/broken": "title: x\nduration: 1s\nmethod: [\n"})
    result = run(pytester, "experiments", "--collect-only", "-q")
    names = [Path(node.split("::")[0]).stem for node in collected(result)]
    assert sorted(names) == ["aborted", "broken", "failing", "invalid", "passing", "skipped"]
    broken = run(pytester, "experiments/broken.yaml")
    broken.assert_outcomes(errors=1)
    broken.stdout.fnmatch_lines(["invalid experiment (exit 2):", "*broken.yaml:*"])


def test_files_shakedown_refuses_are_collected_and_fail_with_its_reason(pytester, experiments):
    """An experiment over 1 MiB or not in UTF-8 is an error with shakedown's reason, never
    silently skipped; a large file of other YAML stays uncollected."""
    folder = pytester.path / "refused"
    folder.mkdir()
    body = "title: big\nduration: 1s\nmethod: []\n"
    (folder / "big.yaml").write_text(body + "# padding\n" * 120_000)
    (folder / "latin1.yaml").write_bytes(b"title: caf\xe9\nduration: 1s\nmethod: []\n")
    (folder / "manifest.yaml").write_text("kind: List\n" + "# padding\n" * 120_000)
    listed = run(pytester, "refused", "--collect-only", "-q")
    assert [Path(n.split("::")[0]).stem for n in collected(listed)] == ["big", "latin1"]
    result = run(pytester, "refused")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["invalid experiment (exit 2):", "*big.yaml*"])
    result.stdout.fnmatch_lines(["*latin1.yaml*UTF-8*"])


def test_collected_only_where_asked(pytester, experiments):
    # Neither named on the command line nor under shakedown_paths: not collected.
    assert run(pytester, "--collect-only", "-q").ret == pytest.ExitCode.NO_TESTS_COLLECTED
    pytester.makeini("[pytest]\nshakedown_paths = experiments/passing.yaml experiments/failing.yaml\n")
    result = run(pytester, "--collect-only", "-q")
    assert collected(result) == ["experiments/failing.yaml::failing", "experiments/passing.yaml::passing"]


def test_xdist_runs_experiments_in_parallel(pytester, experiments):
    result = run(pytester, "experiments", "-n", "2", "-k", "passing or failing or aborted")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*2 workers*"])


def test_xfail_covers_only_a_failed_verdict(pytester, experiments):
    """A file tagged ``xfail`` whose verdict is FAILED is xfailed; one that is invalid is still
    an error (an xfail must not turn a broken file into a passing suite)."""
    failing = (experiments / "failing.yaml").read_text().replace("tags: [writes, commands]", "tags: [xfail]")
    (experiments / "expected-failure.yaml").write_text(failing)
    invalid = (experiments / "invalid.yaml").read_text()
    (experiments / "broken-but-xfail.yaml").write_text("tags: [xfail]\n" + invalid)
    result = run(pytester, "experiments/expected-failure.yaml", "experiments/broken-but-xfail.yaml")
    result.assert_outcomes(xfailed=1, errors=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
