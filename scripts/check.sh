#!/usr/bin/env bash
# Lint, format and type checks (configured in pyproject.toml): ruff check and ruff format --check over the
# whole tree, mypy on src/.
# `pip install -e ".[lint]"` brings the tools. Run from anywhere; exits non-zero on the first failing check.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "ruff check";           python -m ruff check .
echo "ruff format --check";  python -m ruff format --check .
echo "mypy src/losskit";     python -m mypy
