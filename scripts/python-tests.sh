#!/usr/bin/env bash
# pytest-shakedown end to end, as a user gets it:
#   1. build the wheel with maturin (release profile; about 3.5 min on 2 cores from a cold
#      target/, seconds when target/release is warm) in a fresh virtual environment;
#   2. install the wheel, pytest and pytest-xdist in another fresh virtual environment;
#   3. run the plugin's own suite (python/tests) against the installed wheel;
#   4. run the fast examples of experiments/ as pytest items with the wheel's binary.
# Needs python3 (with venv) and PyPI; everything it makes is removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-python3}
# The examples that finish in about 6 s each (docs/pytest.md lists the long ones).
FAST_EXAMPLES=${FAST_EXAMPLES:-"latency-slo or breaker-cooldown or backend-restart or write-behind"}

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT INT TERM

echo "python-tests: building the wheel (maturin, release)"
"$PYTHON" -m venv "$WORK/build"
"$WORK/build/bin/pip" install --quiet "maturin>=1.5,<2"
started=$SECONDS
(cd python && "$WORK/build/bin/maturin" build --release --quiet --out "$WORK/wheels")
echo "python-tests: wheel built in $((SECONDS - started)) s: $(cd "$WORK/wheels" && ls)"

echo "python-tests: installing it in a fresh virtual environment"
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet "$WORK"/wheels/*.whl pytest-xdist
# The plugin must find the binary the wheel installed, not one named by the caller.
unset SHAKEDOWN_BIN
export PYTEST_SHAKEDOWN_WHEEL=1 PATH="$WORK/venv/bin:$PATH"
# Failed runs keep their scratch folders (docs/experiments.md): keep them in $WORK.
export TMPDIR="$WORK/tmp"
mkdir -p "$TMPDIR"

echo "python-tests: the plugin's suite against the installed wheel"
started=$SECONDS
(cd python && pytest tests -p no:cacheprovider -rfEs)
echo "python-tests: suite took $((SECONDS - started)) s"

echo "python-tests: pytest experiments/ -k \"$FAST_EXAMPLES\""
started=$SECONDS
pytest experiments/ -p no:cacheprovider --strict-markers -k "$FAST_EXAMPLES" -rfEs
echo "python-tests: examples took $((SECONDS - started)) s"
