#!/usr/bin/env bash
# The main job: builds the Python binding (release) into .venv and runs the demo on the
# embedded defaults and the sample platform under examples/platform.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/setup-python.sh --release
exec .venv/bin/python examples/demo.py
