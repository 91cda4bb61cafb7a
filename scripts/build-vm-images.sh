#!/usr/bin/env bash
# Build the disks of the real-kernel test VMs (started by scripts/vm.sh): for
# each Debian suite, the local PostgreSQL test image localhost/pghost-test:SUITE
# (scripts/build-images.sh) plus a kernel, sshd and DHCP networking
# (containers/vm/Containerfile), exported to a raw ext4 disk with root's SSH
# key for this checkout, and the kernel and initrd next to it.
#
# Outputs, under build/vm/ (git-ignored):
#   id_ed25519, id_ed25519.pub    the checkout's key (made once), root logs in with it
#   SUITE-HASH.raw                sparse 4 GiB ext4 disk, / of the VM (mounted from /dev/vda)
#   SUITE-HASH.vmlinuz/.initrd    its kernel and initrd (booted with -kernel/-initrd)
#   SUITE.raw, .vmlinuz, .initrd  stable links to the current build
# HASH covers everything that built it: containers/vm/*, this script's build
# function, the source image's ID and the public key. A build is redone only
# when that changes; older builds of the suite are removed. The intermediate
# image localhost/pghost-vm:SUITE-IMAGEHASH (keyed by containers/vm/* and the
# source image only, not the key) stays in podman's store, so a fresh clone
# with its new key rebuilds only the disk (CI: about 2 minutes less).
#
# Usage: scripts/build-vm-images.sh [SUITE ...]   (default: every suite in
# containers/images/images.list; their images must exist: scripts/build-images.sh)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$root/containers/containers.conf}"
vm_inputs="$root/containers/vm"
out="$root/build/vm"
key="$out/id_ed25519"
disk_size="${PGHOST_VM_DISK_SIZE:-4G}"

started=$SECONDS
say() { printf '[build-vm-images %4ss] %s\n' "$((SECONDS - started))" "$*"; }
die() { echo "build-vm-images: $*" >&2; exit 1; }

hash_of() { sha256sum | cut -c1-12; }

# What a failed or interrupted build leaves behind.
tmp_root=""
tmp_cid=""
tmp_prefix=""
cleanup() {
    [ -z "$tmp_cid" ] || podman rm -f "$tmp_cid" >/dev/null 2>&1 || true
    [ -z "$tmp_root" ] || rm -rf "$tmp_root" "$tmp_root.mkfs.log"
    [ -z "$tmp_prefix" ] || rm -f "$tmp_prefix".*.tmp
}
trap cleanup EXIT

for tool in podman mkfs.ext4 ssh-keygen tar; do
    command -v "$tool" >/dev/null || die "$tool is missing; run scripts/setup-system.sh"
done
[ "$(id -u)" -eq 0 ] || die "run as root (rootful podman, numeric owners in the disk)"

ensure_key() {
    mkdir -p "$out"
    if [ ! -f "$key" ] || [ ! -f "$key.pub" ]; then
        rm -f "$key" "$key.pub"
        say "generating the VMs' SSH key $key"
        ssh-keygen -q -t ed25519 -N '' -C "pghost-vm@$(hostname)" -f "$key"
    fi
    chmod 600 "$key"
}

# Runs with the podman image built; turns it into $out/$suite-$hash.{raw,vmlinuz,initrd}.
build_disk() {
    local suite=$1 image=$2 prefix=$3 rootfs cid kernel initrd hostname
    rootfs="$(mktemp -d "/var/tmp/pghost-vm-root-$suite.XXXXXX")"
    tmp_root=$rootfs

    say "$suite: exporting $image"
    cid="$(podman create "$image")"
    tmp_cid=$cid
    # --numeric-owner: GNU tar as root otherwise maps owners by *name* through
    # this machine's /etc/passwd, and PostgreSQL's files would get the ids of
    # the build host's postgres (or root) instead of the image's.
    podman export "$cid" | tar -C "$rootfs" --numeric-owner --xattrs --xattrs-include='*' -xpf -
    podman rm -f "$cid" >/dev/null
    tmp_cid=""

    # Podman bind-mounts these during a build, so the image holds empty ones.
    # Replaced, not rewritten in place: the exported files' modes vary (0755).
    hostname="pghost-$suite"
    rm -f "$rootfs/etc/hostname" "$rootfs/etc/hosts" "$rootfs/etc/resolv.conf"
    echo "$hostname" >"$rootfs/etc/hostname"
    sed "s/@HOSTNAME@/$hostname/" "$vm_inputs/hosts" >"$rootfs/etc/hosts"
    # No DNS: the VM's user-mode network is restricted to its own SSH port.
    : >"$rootfs/etc/resolv.conf"
    chmod 644 "$rootfs/etc/hostname" "$rootfs/etc/hosts" "$rootfs/etc/resolv.conf"
    # Empty: systemd makes a machine-id on each VM's first boot.
    : >"$rootfs/etc/machine-id"

    install -d -m 700 -o 0 -g 0 "$rootfs/root/.ssh"
    install -m 600 -o 0 -g 0 "$key.pub" "$rootfs/root/.ssh/authorized_keys"

    # One kernel per image (linux-image-amd64 pulls exactly one).
    kernel="$(find "$rootfs/boot" -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -n1)"
    initrd="$(find "$rootfs/boot" -maxdepth 1 -name 'initrd.img-*' | sort -V | tail -n1)"
    if [ -z "$kernel" ] || [ -z "$initrd" ]; then
        die "$suite: no kernel or initrd in /boot of $image"
    fi
    install -m 644 "$kernel" "$prefix.vmlinuz.tmp"
    install -m 644 "$initrd" "$prefix.initrd.tmp"

    say "$suite: making the $disk_size ext4 disk $(basename "$prefix").raw from $(du -sh "$rootfs" | cut -f1) of files"
    rm -f "$prefix.raw.tmp"
    # -d copies the tree (numeric owners, modes, xattrs, links) without a
    # loop mount; only written blocks are allocated, so the file is sparse.
    if ! mkfs.ext4 -q -F -L pghost-root -d "$rootfs" "$prefix.raw.tmp" "$disk_size" >"$rootfs.mkfs.log" 2>&1; then
        cat "$rootfs.mkfs.log" >&2
        rm -f "$rootfs.mkfs.log" "$prefix.raw.tmp"
        die "$suite: mkfs.ext4 failed"
    fi
    rm -f "$rootfs.mkfs.log"
    mv "$prefix.vmlinuz.tmp" "$prefix.vmlinuz"
    mv "$prefix.initrd.tmp" "$prefix.initrd"
    mv "$prefix.raw.tmp" "$prefix.raw"
    rm -rf "$rootfs"
    tmp_root=""
}

build_suite() {
    local suite=$1 source_image source_id hash image_hash prefix image log
    source_image="localhost/pghost-test:$suite"
    source_id="$(podman image inspect --format '{{.Id}}' "$source_image" 2>/dev/null)" ||
        die "$source_image does not exist; build it first: scripts/build-images.sh $suite"
    hash="$(
        {
            for f in "$vm_inputs"/*; do printf '%s\n' "$(basename "$f")"; cat "$f"; done
            sed -n '/^build_disk()/,/^}/p' "$0"
            echo "$disk_size" "$source_id"
            cat "$key.pub"
        } | hash_of
    )"
    prefix="$out/$suite-$hash"
    if [ -f "$prefix.raw" ] && [ -f "$prefix.vmlinuz" ] && [ -f "$prefix.initrd" ]; then
        say "$suite: VM disk $(basename "$prefix").raw cached"
    else
        # The image (kernel, sshd, networking) does not depend on this
        # checkout's key, so it is keyed by its own inputs and kept in podman's
        # store: a fresh clone (CI) builds only the disk, not the image again.
        image_hash="$(
            {
                for f in "$vm_inputs"/*; do printf '%s\n' "$(basename "$f")"; cat "$f"; done
                echo "$source_id"
            } | hash_of
        )"
        image="localhost/pghost-vm:$suite-$image_hash"
        if podman image exists "$image"; then
            say "$suite: $image cached"
        else
            say "$suite: installing kernel, sshd and networking on $source_image into $image"
            log="$(mktemp)"
            # apt's output is long and mostly noise; show it only on failure.
            if ! podman build --build-arg "BASE_IMAGE=$source_image" \
                -f "$vm_inputs/Containerfile" -t "$image" "$vm_inputs" >"$log" 2>&1; then
                cat "$log" >&2
                rm -f "$log"
                die "building $image failed"
            fi
            rm -f "$log"
        fi
        tmp_prefix=$prefix
        build_disk "$suite" "$image" "$prefix"
        tmp_prefix=""
        # Older images of this suite are never used again.
        podman images --format '{{.Repository}}:{{.Tag}}' | grep "^localhost/pghost-vm:$suite-" |
            grep -vx "$image" | xargs -r podman rmi >/dev/null 2>&1 || true
    fi
    local ext
    for ext in raw vmlinuz initrd; do
        ln -sfn "$(basename "$prefix").$ext" "$out/$suite.$ext"
    done
    say "$suite: $suite.raw -> $(basename "$prefix").raw ($(du -h "$prefix.raw" | cut -f1) used of $(du -h --apparent-size "$prefix.raw" | cut -f1))"
    remove_stale "$suite" "$hash"
}

# Builds from older inputs are never used again. A VM still running from one
# keeps its open file; its overlay names the hashed file, not the link.
remove_stale() {
    local suite=$1 hash=$2 f
    for f in "$out/$suite"-*; do
        [ -e "$f" ] || continue
        case "$(basename "$f")" in
            "$suite-$hash".*) ;;
            "$suite"-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f].*)
                say "$suite: removing stale $(basename "$f")"
                rm -f "$f" ;;
        esac
    done
}

wanted=("$@")
suites=()
while read -r suite _; do
    case "$suite" in "" | \#*) continue ;; esac
    if [ "${#wanted[@]}" -eq 0 ] || [[ " ${wanted[*]} " == *" $suite "* ]]; then
        suites+=("$suite")
    fi
done <"$root/containers/images/images.list"
for suite in "${wanted[@]}"; do
    [[ " ${suites[*]} " == *" $suite "* ]] || die "unknown suite $suite (not in containers/images/images.list)"
done

ensure_key
for suite in "${suites[@]}"; do
    build_suite "$suite"
done
say "done"
