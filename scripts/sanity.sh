#!/usr/bin/env bash
# Run ansible-test sanity offline on a copy of the collection.
#
# ansible-test needs the collection at .../ansible_collections/pghost/hardening,
# so the files git would ship (tracked plus new, not ignored) are copied to
# build/sanity/ansible_collections/pghost/hardening; the repository root stays
# the collection root. Sanity runs in ansible-test's own venvs (--venv) for
# the controller's Python; their pip bootstrap comes from
# scripts/ansible-test-get-pip.py because the usual download host is
# unreachable here.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv"
dest="$root/build/sanity/ansible_collections/pghost/hardening"
python_version="$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"

pip_version="$("$venv/bin/python" - <<'PY'
import re, ansible_test._internal.python_requirements as m, inspect
src = inspect.getsource(m.get_venv_packages)
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)"
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$cache")"
cp "$root/scripts/ansible-test-get-pip.py" "$cache"

rm -rf "$dest"
mkdir -p "$dest"
(cd "$root" && git ls-files -z --cached --others --exclude-standard |
    xargs -0 -I{} sh -c 'test -e "{}" && echo "{}"' |
    tar -c -T - -f -) | tar -C "$dest" -xf -
# ansible-test lists a collection's files through git when it is a work tree.
(cd "$dest" && git init -q && git add -A)

cd "$dest"
echo "sanity: ansible-test sanity --venv --python $python_version in $dest"
"$venv/bin/ansible-test" sanity --venv --python "$python_version" --color no "$@"
