#!/usr/bin/env bash
# The Python module's tests: builds and installs ./python into a fresh virtual environment
# (pip fetches maturin from PyPI as the build backend), runs pytest, checks the type stubs
# against the module with stubtest, and type-checks the examples with mypy --strict.
# Usage: tests/python.sh [pytest args...]   (PYTHON=python3.X to pick the interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
command -v "$python" >/dev/null || { echo "tests/python.sh: $python not found"; exit 2; }
venv=$(mktemp -d "${TMPDIR:-/tmp}/ferry-venv-XXXXXX")
trap 'rm -rf "$venv"' EXIT

step() { printf '\n== %s\n' "$*"; }

step "python: venv and pip install ./python ($("$python" --version))"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet ./python pytest mypy

step "python: pytest"
"$venv/bin/python" -m pytest python/tests -q -p no:cacheprovider "$@"

step "python: stubtest ferrysync._native"
(cd "$venv" && "$venv/bin/python" -m mypy.stubtest ferrysync._native)

step "python: mypy --strict examples/python"
"$venv/bin/python" -m mypy --strict --no-incremental examples/python

echo
echo "tests/python.sh: all green"
