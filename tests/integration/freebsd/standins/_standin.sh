# shellcheck shell=sh
# Sourced by every TEST DOUBLE in this directory. Not FreeBSD code.
#
# Each stand-in logs its argv to $PGHOST_STANDIN_LOG (one line per call),
# answers read-only questions from recorded output, and refuses every call
# that would change a real host when $PGHOST_STANDIN_READONLY is 1 - so a
# check-mode run that tried to change something fails the test instead of
# passing silently. With 0 (a real run: the idempotence test, and the jail
# restarts and UID changes of test_freebsd_jail_changes.py) the changing
# calls the roles make act on the test tree or the recorded answers just
# enough for the next call, or a second run, to see their effect.
standin_name=$(basename "$0")
printf '%s\n' "$standin_name $*" >> "${PGHOST_STANDIN_LOG:-/dev/null}"
# Both are used by the stand-ins that source this file.
# shellcheck disable=SC2034
recorded="${PGHOST_STANDIN_RECORDED:?PGHOST_STANDIN_RECORDED is not set: this test double only runs under tests/integration/test_freebsd_*.py}"
# shellcheck disable=SC2034
tree="${PGHOST_HARDENING_TEST_ROOT:?}"

# Returns only in a real run; in a check-mode test the call fails.
refuse_change() {
    if [ "${PGHOST_STANDIN_READONLY:-1}" = 1 ]; then
        echo "TEST DOUBLE $standin_name: refused a changing call in a check-mode test: $standin_name $*" >&2
        exit 97
    fi
}

# ---- jails and their PostgreSQL (jexec, service jail, pgrep) ----
# The running jails are the lines of recorded/jls-n.txt (`jls -n`); a jail's
# root (path=/jails/pg1) is that directory under the test tree. Whether the
# jail's PostgreSQL runs is recorded/jail.NAME.postgresql ("running" or
# "stopped"); without that file the server of a running jail runs. A test
# that creates recorded/jail.NAME.postgresql-will-not-stop gets a server that
# `service postgresql stop` cannot stop.

# jail_line NAME|JID: the jls -n line of that running jail; fails without one.
jail_line() {
    awk -v j="$1" '{ for (i = 1; i <= NF; i++) if ($i == "name=" j || $i == "jid=" j) { print; found = 1; exit } }
        END { exit !found }' "$recorded/jls-n.txt"
}

# jail_param LINE PARAM: the value of PARAM in a jls -n LINE.
jail_param() {
    printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# pg_state NAME: running or stopped. pg_set_state NAME STATE records it.
pg_state() {
    if [ -f "$recorded/jail.$1.postgresql" ]; then cat "$recorded/jail.$1.postgresql"; else echo running; fi
}
pg_set_state() {
    printf '%s\n' "$2" > "$recorded/jail.$1.postgresql"
}
