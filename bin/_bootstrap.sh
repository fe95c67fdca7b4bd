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
# Compiled translations: the .mo files are built here, never committed (.gitignore), and only
# when a catalog (.po) is newer than its .mo, so an unchanged tree costs one `find`. msgfmt comes
# from Debian's gettext, installed when missing (as bin/test installs Chromium).
stale=""
while IFS= read -r po; do
  [ "$po" -nt "${po%.po}.mo" ] && stale="$stale $po"
done < <(find prm/locale -name '*.po' -path '*/LC_MESSAGES/*' 2>/dev/null)
if [ -n "$stale" ]; then
  if ! command -v msgfmt >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "[prm] installing system packages: gettext (msgfmt, to compile the translations)"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq gettext >/dev/null
  fi
  echo "[prm] compiling translations:$stale"
  .venv/bin/python manage.py compilemessages --ignore=.venv --ignore=node_modules --verbosity 0
fi
