#!/usr/bin/env bash
# `make test`: set up what is missing, then every check the project has, in
# order. Each stage is timed; all stages run even after a failure so one run
# shows every problem, and the exit status is non-zero if any stage failed.
set -uo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "$0")/env.sh"
cd "$PGHOST_ROOT" || exit 1

results=()
failed=0
total_skips=0
total_start=$SECONDS

# Each stage's output is also kept in build/test-logs/; pytest prints every
# skip with its reason (pytest.ini: -r fEs), and the summary counts them.
stage() {
    local name=$1 start rc log skips
    shift
    printf '\n===== %s =====\n' "$name"
    log="$PGHOST_ROOT/build/test-logs/${name//:/-}.log"
    mkdir -p "$(dirname "$log")"
    start=$SECONDS
    PYTHONUNBUFFERED=1 "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    skips=$(grep -c '^SKIPPED' "$log")
    total_skips=$((total_skips + skips))
    results+=("$(printf '%-28s %-4s %5ss %4s skipped' "$name" "$([ "$rc" -eq 0 ] && echo ok || echo FAIL)" \
        "$((SECONDS - start))" "$skips")")
    [ "$rc" -eq 0 ] || failed=1
    return "$rc"
}

stage setup scripts/setup.sh || {
    echo "test: setup failed; nothing else can run" >&2
    printf '%s\n' "${results[@]}"
    exit 1
}
stage yamllint yamllint --strict .
stage role-docs-in-sync python scripts/role_docs.py --check
stage citations-resolve python scripts/check_citations.py
stage ansible-lint ansible-lint --offline --profile production
stage ansible-test-sanity scripts/sanity.sh
stage unit-tests python -m pytest tests/unit
stage controller-plan python -m pytest tests/integration
for scenario_file in molecule/*/molecule.yml; do
    scenario="$(basename "$(dirname "$scenario_file")")"
    stage "molecule:$scenario" molecule test -s "$scenario"
done

printf '\n===== summary =====\n'
printf '%s\n' "${results[@]}"
printf '%-28s %-4s %5ss %4s skipped\n' total "$([ $failed -eq 0 ] && echo ok || echo FAIL)" \
    "$((SECONDS - total_start))" "$total_skips"
[ "$total_skips" -eq 0 ] || grep -h '^SKIPPED' "$PGHOST_ROOT"/build/test-logs/*.log
exit $failed
