#!/usr/bin/env bash
# The Chaos Toolkit fixtures are real Chaos Toolkit experiments: install chaostoolkit-lib and the
# toxiproxy extension from PyPI into a throw-away virtual environment (or use the Python in
# SHAKEDOWN_CTK_PYTHON), validate every fixture with chaoslib, then run the importer's tests
# with that Python so their chaoslib check runs instead of skipping. About 20 s with a warm pip.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT INT TERM
PYTHON=${SHAKEDOWN_CTK_PYTHON:-}
if [ -z "$PYTHON" ]; then
    python3 -m venv "$WORK/venv"
    "$WORK/venv/bin/pip" install --quiet chaostoolkit-lib chaostoolkit-toxiproxy
    PYTHON=$WORK/venv/bin/python
fi
# Run chaoslib from a scratch folder, so nothing it writes lands in the repository.
mkdir "$WORK/scratch"
(cd "$WORK/scratch" && "$PYTHON" "$OLDPWD/fixtures/chaostoolkit/check.py")
SHAKEDOWN_CTK_PYTHON=$PYTHON $CARGO test --quiet --test import_chaostoolkit
