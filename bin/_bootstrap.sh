# Shared by bin/portal and bin/test: make .venv with the project installed, once per change of
# pyproject.toml. Needs only python3 (3.11+) with venv.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "[prm] creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv || {
    echo "[prm] python3 -m venv failed; on Debian/Ubuntu: apt-get install -y python3-venv" >&2; exit 1; }
fi
STAMP=.venv/.prm-installed
WANT="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo "[prm] installing Python packages into .venv (about 30 s the first time)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  echo "$WANT" > "$STAMP"
fi
