#!/usr/bin/env bash
# Create .venv with the pinned tool chain; reinstall only when the
# requirements or constraints change (a stamp holds their hash).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv"
python="${PYTHON:-python3}"
stamp="$venv/.pghost-requirements.sha256"
want="$(cat "$root/requirements/requirements.txt" "$root/requirements/constraints.txt" | sha256sum | cut -d' ' -f1)"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/ansible-playbook" ]; then
    echo "setup-venv: $venv is current"
    exit 0
fi

if [ ! -x "$venv/bin/python" ]; then
    echo "setup-venv: creating $venv with $("$python" --version)"
    "$python" -m venv "$venv"
fi
echo "setup-venv: installing the pinned tool chain (about 30 s)"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r "$root/requirements/requirements.txt" -c "$root/requirements/constraints.txt"
echo "$want" >"$stamp"
echo "setup-venv: done: $("$venv/bin/ansible" --version | head -1)"
