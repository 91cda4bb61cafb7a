#!/usr/bin/env bash
# Time pghost.hardening.audit on one host and on a fleet of N systemd
# containers (PostgreSQL from Debian's packages, bookworm and trixie in turn),
# the measurement README.md "Auditing a fleet" quotes. Leaves nothing behind.
#   scripts/audit-fleet.sh [N]     N containers, default 10
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "$0")/env.sh"
cd "$PGHOST_ROOT"

count=${1:-10}
case "$count" in '' | *[!0-9]*) echo "audit-fleet: N must be a whole number, not '$count'" >&2; exit 2 ;; esac
work="$(mktemp -d)"
names=()
cleanup() {
    [ ${#names[@]} -eq 0 ] || podman rm -f "${names[@]}" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

suites=(bookworm trixie)
for i in $(seq 1 "$count"); do
    suite=${suites[$(((i - 1) % 2))]}
    name="pghost-audit-$i"
    names+=("$name")
    podman rm -f "$name" >/dev/null 2>&1 || true
    podman run -d --name "$name" --privileged --systemd=always "localhost/pghost-test:$suite" /sbin/init >/dev/null
done
for name in "${names[@]}"; do
    until state="$(podman exec "$name" systemctl is-system-running 2>/dev/null)"; [ "$state" = running ] || [ "$state" = degraded ]; do
        sleep 1
    done
done

{
    echo "[postgresql]"
    printf '%s\n' "${names[@]}"
    echo "[postgresql:vars]"
    echo "ansible_connection=containers.podman.podman"
    echo "ansible_python_interpreter=/usr/bin/python3"
} >"$work/inventory"

# run LABEL LIMIT: one audit, its wall time and the reports' counts.
run() {
    local label=$1 limit=$2 start seconds
    start=$(date +%s%N)
    ansible-playbook -i "$work/inventory" --limit "$limit" -e "pghost_audit_dir=$work/$label" \
        pghost.hardening.audit >"$work/$label.log" 2>&1 || { cat "$work/$label.log"; exit 1; }
    seconds=$(( ($(date +%s%N) - start) / 1000000 ))
    python3 - "$work/$label/audit.json" "$label" "$seconds" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
counts = report["counts"]
print("%-8s %3d hosts  %6.1f s  findings %s; not verifiable %d; pass %d" % (
    sys.argv[2], len(report["hosts"]), int(sys.argv[3]) / 1000.0,
    ", ".join("%d %s" % (counts[s], s) for s in report["severities"]), counts["not_verifiable"], counts["pass"]))
EOF
}

echo "audit-fleet: $(nproc) CPUs, $count containers, ansible forks ${ANSIBLE_FORKS:-5} (default)"
run one "${names[0]}"
run fleet all
