#!/usr/bin/env bash
# `make demo`: boot a throwaway systemd container with Debian's PostgreSQL,
# run `ansible-playbook pghost.hardening.site` against it, and print per host
# what changed and which values were computed (the pghost.hardening.summary
# callback). The container is removed at the end unless KEEP=1.
#   SUITE=trixie make demo    # PostgreSQL 17 instead of bookworm's 15
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "$0")/env.sh"

suite="${SUITE:-bookworm}"
name="pghost-demo-$suite"
workdir="$PGHOST_ROOT/build/demo"
mkdir -p "$workdir"

cleanup() {
    if [ "${KEEP:-0}" = 1 ]; then
        echo "demo: KEEP=1, container $name left running (podman exec -it $name bash; podman rm -f $name)"
    else
        podman rm -f --time 20 "$name" >/dev/null 2>&1 || true
        echo "demo: container $name removed"
    fi
}

podman rm -f "$name" >/dev/null 2>&1 || true
echo "demo: starting $name from localhost/pghost-test:$suite"
# Privileged so that per-IPC-namespace kernel settings can be written; the
# roles never apply the kernel-global vm.* settings live in a container.
podman run -d --name "$name" --hostname "$name" --systemd=always --privileged \
    "localhost/pghost-test:$suite" /sbin/init >/dev/null
trap cleanup EXIT
# The exec can race PID 1 before its bus exists; retry until boot settles.
for _ in $(seq 60); do
    state="$(podman exec "$name" systemctl is-system-running --wait 2>/dev/null || true)"
    case "$state" in running | degraded) break ;; esac
    sleep 1
done
echo "demo: container booted (systemd: ${state:-unknown})"

cat >"$workdir/inventory.ini" <<INV
[postgresql]
$name ansible_connection=containers.podman.podman ansible_python_interpreter=/usr/bin/python3
INV

echo "demo: ansible-playbook -i $workdir/inventory.ini pghost.hardening.site"
ANSIBLE_CALLBACKS_ENABLED=pghost.hardening.summary \
    ansible-playbook -i "$workdir/inventory.ini" pghost.hardening.site --diff
