#!/usr/bin/env bash
# Build the local test images (no registry is reachable): for each Debian
# suite in containers/images/images.list, a debootstrap base with systemd as
# init and python3, then PostgreSQL from Debian's packages on top.
#
# Each image is tagged with a hash of everything that built it and rebuilt
# only when that hash changes; the stable tag localhost/pghost-test:SUITE
# (what Molecule and the demo use) is moved to the current build.
#
# Usage: scripts/build-images.sh [SUITE ...]   (default: every suite listed)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$root/containers/containers.conf}"
images_dir="$root/containers/images"
mirror="${PGHOST_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# What a bare systemd container needs to run Ansible and PostgreSQL's tooling:
# sudo for become_user, procps for sysctl, dbus for systemctl/logind, iproute2
# and util-linux for ipcs.
base_packages="systemd,systemd-sysv,dbus,python3,python3-apt,sudo,procps,iproute2,util-linux,ca-certificates,locales"

started=$SECONDS
say() { printf '[build-images %4ss] %s\n' "$((SECONDS - started))" "$*"; }

hash_of() { sha256sum | cut -c1-12; }

image_exists() { podman image exists "$1"; }

build_base() {
    local suite=$1 tag=$2 rootfs
    rootfs="$(mktemp -d "/var/tmp/pghost-rootfs-$suite.XXXXXX")"
    # shellcheck disable=SC2064
    trap "rm -rf '$rootfs'" RETURN
    say "$suite: debootstrap (minbase + $base_packages) from $mirror; about a minute"
    debootstrap --variant=minbase --include="$base_packages" "$suite" "$rootfs" "$mirror" 2>&1 |
        while IFS= read -r line; do
            # debootstrap prints one line per package; show its stage lines
            case "$line" in
                "I: Retrieving Release"* | "I: Resolving"* | "I: Checking component"* | \
                "I: Installing core"* | "I: Unpacking required"* | "I: Configuring required"* | \
                "I: Unpacking the base"* | "I: Configuring the base"* | "I: Base system"* | E:* | W:*)
                    say "$suite: ${line#I: }" ;;
            esac
        done
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    # An empty machine-id lets systemd create one per container boot.
    : >"$rootfs/etc/machine-id"
    # A container cannot load kernel modules; keep systemd from reporting
    # the host as degraded for it.
    ln -sf /dev/null "$rootfs/etc/systemd/system/systemd-modules-load.service"
    say "$suite: importing base image $tag"
    tar -C "$rootfs" -c . | podman import --quiet \
        --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' - "$tag" >/dev/null
}

build_suite() {
    local suite=$1 major=$2 base_hash base_tag pg_hash pg_tag
    base_hash="$(printf '%s\n' "$suite" "$mirror" "$base_packages" "$(sed -n '/^build_base()/,/^}/p' "$0")" | hash_of)"
    base_tag="localhost/pghost-base:$suite-$base_hash"
    if image_exists "$base_tag"; then
        say "$suite: base image $base_tag cached"
    else
        build_base "$suite" "$base_tag"
    fi
    # The stable tag the execution environment builds from (awx/ee).
    podman tag "$base_tag" "localhost/pghost-base:$suite"

    pg_hash="$(cat "$images_dir/postgresql.Containerfile" <(echo "$base_tag") | hash_of)"
    pg_tag="localhost/pghost-test:$suite-$pg_hash"
    if image_exists "$pg_tag"; then
        say "$suite: PostgreSQL $major image $pg_tag cached"
    else
        say "$suite: installing PostgreSQL $major from Debian's packages into $pg_tag"
        local log got
        log="$(mktemp)"
        # apt's output is long and mostly noise; show it only on failure.
        if ! podman build --build-arg "BASE_IMAGE=$base_tag" \
            -f "$images_dir/postgresql.Containerfile" -t "$pg_tag" "$images_dir" >"$log" 2>&1; then
            cat "$log" >&2
            rm -f "$log"
            echo "build-images: building $pg_tag failed" >&2
            exit 1
        fi
        rm -f "$log"
        got="$(podman run --rm "$pg_tag" sh -c 'ls /usr/lib/postgresql')"
        if [ "$got" != "$major" ]; then
            echo "build-images: $suite was expected to ship PostgreSQL $major, image has: $got" >&2
            exit 1
        fi
    fi
    podman tag "$pg_tag" "localhost/pghost-test:$suite"
    say "$suite: localhost/pghost-test:$suite -> $pg_tag"
    remove_stale "$suite" "$base_tag" "$pg_tag"
}

# Builds from older inputs are never used again; drop their tags so the
# images' layers can be reclaimed.
remove_stale() {
    local suite=$1 tag
    shift
    podman images --format '{{.Repository}}:{{.Tag}}' |
        grep -E "^localhost/pghost-(base|test):$suite-[0-9a-f]{12}\$" |
        while read -r tag; do
            if [[ ! " $* " == *" $tag "* ]]; then
                say "$suite: removing stale image $tag"
                podman rmi "$tag" >/dev/null || true
            fi
        done
}

wanted=("$@")
while read -r suite major _; do
    case "$suite" in "" | \#*) continue ;; esac
    if [ "${#wanted[@]}" -gt 0 ] && [[ ! " ${wanted[*]} " == *" $suite "* ]]; then
        continue
    fi
    build_suite "$suite" "$major"
done <"$images_dir/images.list"
say "done"
