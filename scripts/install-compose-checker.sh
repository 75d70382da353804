#!/usr/bin/env bash
# Installs the compose file checker into <repo>/.tools/compose-venv (git-ignored): the classic
# docker-compose 1.29.2 from PyPI, whose `config` command parses and validates a compose file
# with no Docker engine. Pinned by scripts/compose/requirements.txt. PyYAML 5.4.1 is built from
# source with Cython < 3 (it has no wheel for recent Pythons and does not build with Cython 3).
# Idempotent: re-runs only when the requirements change. Usage: scripts/install-compose-checker.sh
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.tools/compose-venv"
REQ="$ROOT/scripts/compose/requirements.txt"
STAMP="$VENV/.stamp"
want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [ -x "$VENV/bin/docker-compose" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
command -v python3 >/dev/null || { echo "install-compose-checker: python3 is not on PATH" >&2; exit 1; }
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check "cython<3" wheel setuptools
"$VENV/bin/pip" install -q --disable-pip-version-check --no-build-isolation "PyYAML==5.4.1"
"$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQ"
"$VENV/bin/docker-compose" version >/dev/null
echo "$want" >"$STAMP"
