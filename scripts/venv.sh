# Sourced by run.sh and test.sh: make sure .venv exists and holds careerbot with its dependencies.
# Reinstalls when pyproject.toml changes, so a pull that adds a dependency just works.
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "careerbot needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ] || [ pyproject.toml -nt .venv/.installed ]; then
  echo "Setting up .venv (first run only)..." >&2
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
  touch .venv/.installed
fi
