"""Finding the shakedown binary: SHAKEDOWN_BIN, then beside the plugin (the wheel), then PATH."""

from __future__ import annotations

import os
import subprocess

import pytest
from conftest import INNER_ARGS

from pytest_shakedown.binary import BinaryNotFound, find_binary, installed_beside


def test_shakedown_bin_wins_and_a_wrong_value_is_an_error(monkeypatch, tmp_path):
    not_executable = tmp_path / "shakedown"
    not_executable.write_text("")
    monkeypatch.setenv("SHAKEDOWN_BIN", str(not_executable))
    with pytest.raises(BinaryNotFound, match="is not an executable file"):
        find_binary()


def test_the_wheel_binary_is_found_beside_the_plugin(monkeypatch):
    monkeypatch.delenv("SHAKEDOWN_BIN", raising=False)
    beside = installed_beside()
    if beside is None:
        # scripts/python-tests.sh sets this: there, the wheel's binary must be found.
        assert not os.environ.get("PYTEST_SHAKEDOWN_WHEEL"), "no shakedown binary beside the plugin"
        pytest.skip("the plugin is not installed from the wheel (run from the source tree)")
    monkeypatch.setenv("PATH", "")
    assert find_binary() == str(beside)
    version = subprocess.run([str(beside), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("shakedown ") and "(" in version.stdout


def test_a_missing_binary_is_a_clear_failure(pytester, experiments, monkeypatch):
    monkeypatch.setenv("SHAKEDOWN_BIN", os.devnull + "-missing")
    result = pytester.runpytest(*INNER_ARGS, "experiments/passing.yaml")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*SHAKEDOWN_BIN=*-missing* is not an executable file*"])
