#!/usr/bin/env bash
# Creates .venv and installs the Lab into it; a no-op when pyproject.toml has not changed since the
# last successful install. PyTorch 2.13.0 (CPU) goes in first so that nothing pulls a CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv
stamp="$venv/.exolab-installed"
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/exolab" ]; then
  exit 0
fi
echo "exolab: setting up $venv (first run only) ..." >&2
[ -x "$venv/bin/python" ] || python3.11 -m venv "$venv" 2>/dev/null || python3 -m venv "$venv"
py="$venv/bin/python"
# pip warns about every configured index folder that lacks a package; those lines are noise here
quiet_pip() { "$py" -m pip install --quiet --disable-pip-version-check "$@" 2> >(grep -v "is ignored: it is neither" >&2); }
quiet_pip torch==2.13.0
quiet_pip uv
# uv does not read pip's configuration: hand it the same local wheel folders pip uses.
links=$("$py" -m pip config get global.find-links 2>/dev/null || true)
uv_args=()
for l in $links; do uv_args+=(--find-links "$l"); done
if ! "$venv/bin/uv" pip install --quiet --python "$py" "${uv_args[@]}" -e ".[dev]"; then
  echo "exolab: uv failed, falling back to pip" >&2
  quiet_pip -e ".[dev]"
fi
echo "$want" > "$stamp"
