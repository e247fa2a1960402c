#!/bin/sh
# The whole test suite: lint, types, tests (the quality gate on tests/eval/test.yaml included).
set -e
cd "$(dirname "$0")"
. scripts/venv.sh
.venv/bin/ruff check careerbot tests bench
.venv/bin/mypy
.venv/bin/hadolint Dockerfile
.venv/bin/python -m pytest "$@"
