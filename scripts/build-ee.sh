#!/usr/bin/env bash
# Build the execution environment localhost/pghost-ee (awx/ee, ansible-builder
# 3) from the local Debian base image, with this checkout's collection from
# the tarball `ansible-galaxy collection build` makes and its dependencies
# from .venv's pinned `ansible` package (Galaxy and image registries are out
# of reach; docs/awx.md).
#
# The image is tagged with a hash of what built it (the EE definition, the
# collection's files, the dependencies' versions, the base image) and built
# only when that hash is new; localhost/pghost-ee:latest is moved to it.
#
# Usage: scripts/build-ee.sh
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "$0")/env.sh"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$PGHOST_ROOT/containers/containers.conf}"

started=$SECONDS
say() { printf '[build-ee %4ss] %s\n' "$((SECONDS - started))" "$*"; }
die() { echo "build-ee: $*" >&2; exit 1; }

definition="$PGHOST_ROOT/awx/ee/execution-environment.yml"
stage_dir="$PGHOST_ROOT/build/ee"
base_image=localhost/pghost-base:bookworm
# ansible_collections/ of the `ansible` package in .venv
vendored="$(python -c 'import ansible_collections.ansible.posix as p, os; print(os.path.dirname(os.path.dirname(list(p.__path__)[0])))')"

podman image exists "$base_image" || die "$base_image does not exist; build it first: scripts/build-images.sh bookworm"

# The versions the EE pins are the ones .venv runs; a bump of one without the
# other would test a different Ansible in the EE than everywhere else.
for package in ansible-core ansible-runner; do
    pinned="$(grep -i "^$package==" "$PGHOST_ROOT/requirements/constraints.txt" | cut -d= -f3)"
    grep -q "package_pip: $package==$pinned\$" "$definition" ||
        die "$definition does not pin $package==$pinned as requirements/constraints.txt does"
done

rm -rf "$stage_dir"
mkdir -p "$stage_dir/collections/ansible" "$stage_dir/collections/community"
ansible-galaxy collection build --force --output-path "$stage_dir" "$PGHOST_ROOT" >/dev/null
mv "$stage_dir"/pghost-hardening-*.tar.gz "$stage_dir/collections/pghost-hardening.tar.gz"
cp -a "$vendored/ansible/posix" "$stage_dir/collections/ansible/posix"
cp -a "$vendored/community/general" "$stage_dir/collections/community/general"

# Python packages as wheels fetched here, by the host's pip and pinned by
# requirements/constraints.txt: the build itself installs with --no-index.
# (A container on these machines cannot verify the TLS of the egress that
# the host's pip goes through; an offline build is also the reproducible one.)
python -m pip download --quiet --disable-pip-version-check --only-binary=:all: --dest "$stage_dir/wheels" \
    -c "$PGHOST_ROOT/requirements/constraints.txt" ansible-core ansible-runner bindep pyyaml packaging \
    "$(sed -n 's/^ *package_pip: \(dumb-init==.*\)$/\1/p' "$definition")" 2>&1 |
    { grep -v "^WARNING: Location 'file://" || true; }

# The tarball's own mtimes differ per build; its FILES.json holds a checksum
# of every file, which is what the EE depends on.
hash="$({
    cat "$definition" "$PGHOST_ROOT/awx/ee/requirements.yml"
    ls "$stage_dir/wheels"
    tar -xzOf "$stage_dir/collections/pghost-hardening.tar.gz" FILES.json
    grep -h '"version"' "$stage_dir/collections/ansible/posix/MANIFEST.json" \
        "$stage_dir/collections/community/general/MANIFEST.json"
    podman image inspect --format '{{.Id}}' "$base_image"
} | sha256sum | cut -c1-12)"
tag="localhost/pghost-ee:$hash"

if podman image exists "$tag"; then
    say "$tag cached"
else
    say "building $tag with ansible-builder (about two minutes cold)"
    log="$stage_dir/ansible-builder.log"
    if ! ansible-builder build --file "$definition" --context "$stage_dir/context" \
        --container-runtime podman --tag "$tag" -v 2 >"$log" 2>&1; then
        tail -40 "$log" >&2
        die "ansible-builder failed; the whole log is $log"
    fi
fi
podman tag "$tag" localhost/pghost-ee:latest
# Older builds are never used again.
podman images --format '{{.Repository}}:{{.Tag}}' | grep -E '^localhost/pghost-ee:[0-9a-f]{12}$' |
    while read -r old; do
        [ "$old" = "$tag" ] || { say "removing stale $old"; podman rmi "$old" >/dev/null || true; }
    done
say "localhost/pghost-ee:latest -> $tag ($(podman image inspect --format '{{.Size}}' "$tag" |
    awk '{printf "%d MB", $1 / 1000000}'))"
