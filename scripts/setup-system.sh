#!/usr/bin/env bash
# Install the host packages the test and demo tool chain needs, only when missing.
# Podman runs rootful with the runc runtime (crun cannot handle this machine's
# hybrid cgroup layout); see docs/test-machines.md.
set -euo pipefail

# ansible-test sanity skips its ShellCheck test when the program is missing.
packages=(podman runc debootstrap slirp4netns uidmap fuse-overlayfs shellcheck make git)
packages+=(qemu-system-x86 qemu-utils e2fsprogs openssh-client) # test VMs: scripts/vm.sh

missing=()
for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "setup-system: all host packages present (${packages[*]})"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "setup-system: missing packages ${missing[*]}; run as root or install them with apt" >&2
    exit 1
fi

echo "setup-system: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
