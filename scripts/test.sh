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
total_start=$SECONDS

stage() {
    local name=$1 start rc
    shift
    printf '\n===== %s =====\n' "$name"
    start=$SECONDS
    "$@"
    rc=$?
    results+=("$(printf '%-28s %-4s %5ss' "$name" "$([ $rc -eq 0 ] && echo ok || echo FAIL)" "$((SECONDS - start))")")
    [ $rc -eq 0 ] || failed=1
    return $rc
}

stage setup scripts/setup.sh || {
    echo "test: setup failed; nothing else can run" >&2
    printf '%s\n' "${results[@]}"
    exit 1
}
stage yamllint yamllint --strict .
stage role-docs-in-sync python scripts/role_docs.py --check
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
printf '%-28s %-4s %5ss\n' total "$([ $failed -eq 0 ] && echo ok || echo FAIL)" "$((SECONDS - total_start))"
exit $failed
