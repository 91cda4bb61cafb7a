# shellcheck shell=sh
# Sourced by every TEST DOUBLE in this directory. Not FreeBSD code.
#
# Each stand-in logs its argv to $PGHOST_STANDIN_LOG (one line per call),
# answers read-only questions from recorded output, and refuses every call
# that would change a real host when $PGHOST_STANDIN_READONLY is 1 - so a
# check-mode run that tried to change something fails the test instead of
# passing silently. With 0 (a real run, for the idempotence test) the
# changing calls the roles make act on the test tree or the recorded answers
# just enough for a second run to see their effect.
standin_name=$(basename "$0")
printf '%s\n' "$standin_name $*" >> "${PGHOST_STANDIN_LOG:-/dev/null}"
# Both are used by the stand-ins that source this file.
# shellcheck disable=SC2034
recorded="${PGHOST_STANDIN_RECORDED:?PGHOST_STANDIN_RECORDED is not set: this test double only runs under tests/integration/test_freebsd_branches.py}"
# shellcheck disable=SC2034
tree="${PGHOST_HARDENING_TEST_ROOT:?}"

# Returns only in a real run; in a check-mode test the call fails.
refuse_change() {
    if [ "${PGHOST_STANDIN_READONLY:-1}" = 1 ]; then
        echo "TEST DOUBLE $standin_name: refused a changing call in a check-mode test: $standin_name $*" >&2
        exit 97
    fi
}
