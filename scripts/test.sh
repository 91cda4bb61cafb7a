#!/usr/bin/env bash
# `make test`: set up what is missing, then every check the project has. Each
# stage is timed; all stages run even after a failure so one run shows every
# problem, and the exit status is non-zero if any stage failed.
#
# Two lanes. The real-kernel VM scenarios (molecule/real*) run one after the
# other in a lane of their own, beside every other stage: their QEMU guests
# sit idle through long waits (shutdown checkpoints throttled to 128 KiB/s,
# reboots) that the other stages fill, so the suite ends sooner than one
# stage after another would (docs/test-machines.md, "Two lanes"). The VM
# lane's output goes to its logs and is printed when it ends. PGHOST_TEST_LANES=1
# runs everything in one lane, in the old order.
set -uo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "$0")/env.sh"
cd "$PGHOST_ROOT" || exit 1

logs="$PGHOST_ROOT/build/test-logs"
total_start=$SECONDS
# Ctrl-C or a CI timeout ends the VM lane too (it shares this process group).
trap 'trap - INT TERM; kill 0' INT TERM

# stage NAME COMMAND...: run COMMAND, keep its output in build/test-logs/NAME.log
# and its result line in NAME.result; pytest prints every skip with its reason
# (pytest.ini: -r fEs), and the summary counts them. With STAGE_QUIET=1 the
# output goes only to the log (the VM lane, so the two lanes do not interleave).
stage() {
    local name=$1 start rc log
    shift
    log="$logs/${name//:/-}.log"
    mkdir -p "$logs"
    start=$SECONDS
    if [ "${STAGE_QUIET:-0}" = 1 ]; then
        PYTHONUNBUFFERED=1 "$@" >"$log" 2>&1
        rc=$?
    else
        printf '\n===== %s =====\n' "$name"
        PYTHONUNBUFFERED=1 "$@" 2>&1 | tee "$log"
        rc=${PIPESTATUS[0]}
    fi
    printf '%-28s %-4s %5ss %4s skipped\n' "$name" "$([ "$rc" -eq 0 ] && echo ok || echo FAIL)" \
        "$((SECONDS - start))" "$(grep -c '^SKIPPED' "$log")" >"${log%.log}.result"
    return "$rc"
}

molecule_stage() {
    stage "molecule:$1" molecule test -s "$1"
}

rm -rf "$logs"
mkdir -p "$logs"
stage setup scripts/setup.sh || {
    echo "test: setup failed; nothing else can run" >&2
    cat "$logs/setup.result"
    exit 1
}

vm_scenarios=() other_scenarios=()
for scenario_file in molecule/*/molecule.yml; do
    scenario="$(basename "$(dirname "$scenario_file")")"
    case "$scenario" in
        real*) vm_scenarios+=("$scenario") ;;
        *) other_scenarios+=("$scenario") ;;
    esac
done

vm_lane() {
    local scenario
    for scenario in "${vm_scenarios[@]}"; do
        molecule_stage "$scenario"
    done
}

if [ "${PGHOST_TEST_LANES:-1}" = 1 ]; then
    vm_lane_pid=
else
    printf '\n===== VM lane: %s, beside the stages below; output at the end =====\n' "${vm_scenarios[*]}"
    STAGE_QUIET=1 vm_lane &
    vm_lane_pid=$!
fi

stage yamllint yamllint --strict .
stage role-docs-in-sync python scripts/role_docs.py --check
stage awx-surveys-in-sync python scripts/awx_surveys.py --check
stage citations-resolve python scripts/check_citations.py
stage ansible-lint ansible-lint --offline --profile production
stage ansible-test-sanity scripts/sanity.sh
# pytest-xdist: a worker per core. The integration tests keep each file on
# one worker (--dist loadfile), since their module-scoped fixtures run a
# playbook that several tests of the file read.
stage unit-tests python -m pytest tests/unit -n auto
stage controller-plan python -m pytest tests/integration -n auto --dist loadfile
for scenario in "${other_scenarios[@]}"; do
    molecule_stage "$scenario"
done

if [ -n "$vm_lane_pid" ]; then
    printf '\n===== waiting for the VM lane (%ss so far) =====\n' "$((SECONDS - total_start))"
    wait "$vm_lane_pid"
    for scenario in "${vm_scenarios[@]}"; do
        printf '\n===== molecule:%s (VM lane) =====\n' "$scenario"
        cat "$logs/molecule-$scenario.log" 2>/dev/null || echo "test: the VM lane left no log for $scenario"
    done
else
    vm_lane
fi

# The summary in the order the stages are listed above; a stage without a
# result line did not finish (the lane died) and counts as failed.
failed=0 total_skips=0
printf '\n===== summary =====\n'
for name in setup yamllint role-docs-in-sync awx-surveys-in-sync citations-resolve ansible-lint ansible-test-sanity unit-tests \
    controller-plan "${other_scenarios[@]/#/molecule:}" "${vm_scenarios[@]/#/molecule:}"; do
    result="$logs/${name//:/-}.result"
    if [ -s "$result" ]; then
        cat "$result"
        grep -q ' FAIL ' "$result" && failed=1
        total_skips=$((total_skips + $(grep -c '^SKIPPED' "${result%.result}.log")))
    else
        printf '%-28s %-4s (no result: the stage did not finish)\n' "$name" FAIL
        failed=1
    fi
done
printf '%-28s %-4s %5ss %4s skipped\n' total "$([ $failed -eq 0 ] && echo ok || echo FAIL)" \
    "$((SECONDS - total_start))" "$total_skips"
[ "$total_skips" -eq 0 ] || grep -h '^SKIPPED' "$logs"/*.log

# Why each failed stage failed, last: CI keeps only the tail of this output,
# where a stage's full log is out of reach (scripts/why_failed.py).
failed_logs=()
for result in "$logs"/*.result; do
    grep -q ' FAIL ' "$result" 2>/dev/null && failed_logs+=("${result%.result}.log")
done
if [ ${#failed_logs[@]} -gt 0 ]; then
    printf '\n===== why =====\n'
    python3 scripts/why_failed.py "${failed_logs[@]}"
fi
exit $failed
