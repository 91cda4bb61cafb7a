#!/usr/bin/env bash
# Everything `make test` and `make demo` need, each step skipped when done:
# host packages, the pinned .venv, the local container images, the
# real-kernel VM disks made from them, the link that makes this work tree
# the installed pghost.hardening collection, and the AWX execution
# environment built from it.
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "$0")/env.sh"

"$PGHOST_ROOT/scripts/setup-system.sh"
"$PGHOST_ROOT/scripts/setup-venv.sh"
"$PGHOST_ROOT/scripts/build-images.sh" "$@"
"$PGHOST_ROOT/scripts/build-vm-images.sh" "$@"

link="$ANSIBLE_COLLECTIONS_PATH/ansible_collections/pghost/hardening"
mkdir -p "$(dirname "$link")"
ln -sfn ../../../.. "$link"
test -f "$link/galaxy.yml"

# The AWX execution environment, from this checkout's collection (awx/ee);
# after the link, so that the collection it packs is this work tree.
"$PGHOST_ROOT/scripts/build-ee.sh"
