#!/usr/bin/env bash
# Creates .venv and installs the project with the pins that keep a CPU machine off the
# multi-GB CUDA build of torch. Idempotent: a second run only checks what is there.
#   bash scripts/setup.sh          app + engine + caption suggestions ([captions])
#   bash scripts/setup.sh --dev    also tests, linters and training extras
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
extras="[captions]"
[[ "${1:-}" == "--dev" ]] && extras="[dev,train,captions]"
if [[ ! -x .venv/bin/python ]]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -c requirements/constraints.txt -e ".${extras}"
