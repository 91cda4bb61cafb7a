#!/usr/bin/env bash
# What check mode (and a refused run) must leave as it was, one line each so
# that a difference shows what moved:
#   - every entry under /etc (type, mode, owner, group, path, link target:
#     directories and symlinks too) and the content of every file there;
#   - the THP unit's state and the managed live kernel values;
#   - per PostgreSQL unit, what systemd has loaded (drop-ins, OOM, shutdown
#     and limit settings, whether a daemon-reload is pending) and its
#     postmaster: PID, start time (clock ticks since boot, so a restart
#     shows even if the PID were reused), oom_score_adj and the limits
#     pg_service manages, read from /proc;
#   - logind's live RemoveIPC.
# Shared by the default, kernel and service scenarios (tasks/record_state.yml,
# tasks/state_unchanged.yml).
set -euo pipefail
echo "etc entries $(find /etc -xdev -printf '%y %m %u %g %p -> %l\n' | LC_ALL=C sort | sha256sum | cut -d' ' -f1)"
echo "etc content $(find /etc -xdev -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
echo "thp unit $(systemctl is-enabled pghost-thp.service 2>/dev/null || true)"
sysctl kernel.shmmax kernel.shmall kernel.shmmni kernel.sem vm.overcommit_memory vm.overcommit_ratio \
    vm.swappiness vm.nr_hugepages
units=$(systemctl list-units --all --plain --no-legend --type=service 'postgresql@*' | awk '{print $1}' | LC_ALL=C sort)
[ -n "$units" ] || { echo "no postgresql@ unit loaded" >&2; exit 1; }
properties=ActiveState,SubState,MainPID,ExecMainStartTimestampMonotonic,NeedDaemonReload,DropInPaths
properties+=,OOMScoreAdjust,OOMPolicy,KillMode,KillSignal,TimeoutStopUSec,Environment
properties+=,LimitNOFILE,LimitNOFILESoft,LimitNPROC,LimitNPROCSoft,LimitMEMLOCK,LimitMEMLOCKSoft
for unit in $units; do
    echo "unit $unit $(systemctl show "$unit" --property="$properties" | LC_ALL=C sort | paste -sd' ')"
    pid=$(systemctl show --property=MainPID --value "$unit")
    if [ "$pid" -gt 0 ]; then
        # /proc/PID/stat: field 22 (starttime) is the 20th after the ") " that ends comm.
        echo "postmaster $unit pid $pid starttime $(sed 's/^.*) //' "/proc/$pid/stat" | cut -d' ' -f20)" \
            "oom_score_adj $(cat "/proc/$pid/oom_score_adj")" \
            "$(grep -E '^Max (open files|processes|locked memory) ' "/proc/$pid/limits" | tr -s ' ' | paste -sd';')"
    fi
done
echo "logind RemoveIPC $(busctl get-property org.freedesktop.login1 /org/freedesktop/login1 \
    org.freedesktop.login1.Manager RemoveIPC 2>/dev/null || echo unavailable)"
