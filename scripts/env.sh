# Environment shared by the Makefile's scripts; source it, do not run it.
# shellcheck shell=bash
PGHOST_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PGHOST_ROOT
export PATH="$PGHOST_ROOT/.venv/bin:$PATH"
# Project-owned podman settings (runc, no rlimits); /etc stays untouched.
export CONTAINERS_CONF="$PGHOST_ROOT/containers/containers.conf"
# The collection is found through a link to this work tree, never through a
# copy in ~/.ansible/collections that could be stale. Bundled collections
# (ansible.posix, community.general, containers.podman) come from the ansible
# package on sys.path.
export ANSIBLE_COLLECTIONS_PATH="$PGHOST_ROOT/build/collections"
export ANSIBLE_FORCE_COLOR="${ANSIBLE_FORCE_COLOR:-0}"
export ANSIBLE_NOCOLOR="${ANSIBLE_NOCOLOR:-1}"
