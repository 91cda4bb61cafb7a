#!/usr/bin/env bash
# Real-kernel test VMs: QEMU on the disks of scripts/build-vm-images.sh, each
# VM a fresh copy-on-write overlay of its suite's disk, reached over SSH on a
# loopback port. State of VM NAME lives in build/vm/run/NAME/:
#   disk.qcow2     overlay on build/vm/SUITE-HASH.raw (the base stays pristine)
#   qemu.pid       QEMU's pid          console.log   the guest's serial console
#   port           SSH port on 127.0.0.1
#   instance.json  {"instance", "address", "port", "user", "identity_file",
#                   "boot_seconds", "accel", "suite", "pid"}
#
# Usage:
#   scripts/vm.sh start NAME SUITE [--memory MB] [--cpus N] [--timeout SECONDS]
#   scripts/vm.sh wait-ssh NAME [TIMEOUT]   wait until SSH answers (after a reboot)
#   scripts/vm.sh reboot NAME [TIMEOUT]     reboot the guest, wait until it is back
#   scripts/vm.sh ssh NAME [CMD...]         like ssh(1): CMD is run by root's shell
#   scripts/vm.sh stop NAME                 power off (kill after 30 s), drop the overlay
#   scripts/vm.sh status NAME               running/stopped, exit 0 when running
#   scripts/vm.sh accel                     the accelerator used (detected once)
#
# Accelerator: KVM only if it really works; it is tried once by booting the
# kernel with -accel kvm under a 10 s timeout, and the verdict is kept in
# build/vm/accel (delete it to try again). Otherwise TCG. PGHOST_VM_ACCEL=tcg|kvm
# overrides. Other knobs: PGHOST_VM_CPU (TCG CPU model, default qemu64),
# PGHOST_VM_APPEND (extra kernel arguments), PGHOST_VM_SSH_TIMEOUT (default 300).
#
# The guest's network is QEMU user mode with restrict=on: the only way in is
# the forwarded SSH port and the guest reaches nothing outside.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
vm_dir="$root/build/vm"
run_base="$vm_dir/run"
key="$vm_dir/id_ed25519"
ssh_timeout_default="${PGHOST_VM_SSH_TIMEOUT:-300}"

# Progress and errors go to stderr; stdout gets only the final "SSH up after
# N s" line of start, wait-ssh and reboot (and the output of ssh/status/accel).
die() { echo "vm.sh: $*" >&2; exit 1; }
say() { echo "vm.sh: $*" >&2; }

usage() {
    sed -n '/^# Usage:/,/^# Accelerator/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}

need() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || die "$tool is missing; run scripts/setup-system.sh"
    done
}

check_name() {
    [[ "$1" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$ ]] ||
        die "bad VM name '$1' (letters, digits, '_', '.', '-'; at most 63)"
}

is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }

ssh_opts() {
    local port=$1
    printf '%s\n' -i "$key" -p "$port" -l root \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
        -o BatchMode=yes -o LogLevel=ERROR -o ConnectTimeout=5 \
        -o ServerAliveInterval=5 -o ServerAliveCountMax=3
}

# The pid of NAME's QEMU if it is running (and is really that QEMU).
qemu_pid() {
    local dir=$1 pid
    [ -f "$dir/qemu.pid" ] || return 1
    pid="$(cat "$dir/qemu.pid" 2>/dev/null)" || return 1
    is_uint "$pid" || return 1
    [ -r "/proc/$pid/cmdline" ] || return 1
    # A reused pid is not ours: our QEMU names its run dir's overlay.
    tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$dir/disk.qcow2" || return 1
    echo "$pid"
}

console_tail() {
    local dir=$1
    if [ -s "$dir/console.log" ]; then
        echo "---- last lines of $dir/console.log ----" >&2
        tail -n 40 "$dir/console.log" | tr -d '\r' >&2
        echo "----" >&2
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Echo "kvm" or "tcg". KVM is used only when a kernel really boots under it:
# on these machines /dev/kvm exists but -cpu host asserts and other models hang.
detect_accel() {
    local kernel=$1 verdict log reason
    if [ -n "${PGHOST_VM_ACCEL:-}" ]; then
        case "$PGHOST_VM_ACCEL" in kvm | tcg) echo "$PGHOST_VM_ACCEL"; return ;; esac
        die "PGHOST_VM_ACCEL must be kvm or tcg, not '$PGHOST_VM_ACCEL'"
    fi
    mkdir -p "$vm_dir"
    exec 8>"$vm_dir/accel.lock"
    flock 8
    if [ -s "$vm_dir/accel" ]; then
        head -n1 "$vm_dir/accel"
        exec 8>&-
        return
    fi
    verdict=tcg
    reason="/dev/kvm is not usable"
    if [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
        log="$(mktemp)"
        # No root and panic=-1 with -no-reboot: a kernel that boots panics at
        # once and QEMU exits 0. An assertion, a hang or silence means no KVM.
        # (The braces also swallow bash's "Aborted" report of a crashed QEMU.)
        local rc=0
        {
            (
                ulimit -c 0
                exec timeout -k 2 10 qemu-system-x86_64 -accel kvm -cpu host -m 256 -smp 1 \
                    -nodefaults -display none -no-reboot -serial "file:$log" \
                    -kernel "$kernel" -append "console=ttyS0 panic=-1"
            ) >/dev/null 2>&1 || rc=$?
        } 2>/dev/null
        if [ "$rc" -eq 0 ] && grep -q 'Kernel panic' "$log"; then
            verdict=kvm
            reason="a test boot under KVM worked"
        elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
            reason="a test boot under KVM did not finish within 10 s"
        else
            reason="a test boot under KVM failed (exit $rc)"
        fi
        rm -f "$log"
    fi
    printf '%s\n# %s (%s); delete this file to test again\n' "$verdict" "$reason" "$(date -Is)" >"$vm_dir/accel"
    say "accelerator: $verdict ($reason)"
    exec 8>&-
    echo "$verdict"
}

# wait_ssh DIR PORT TIMEOUT: until `ssh true` works; fails early if QEMU exits.
wait_ssh() {
    local dir=$1 port=$2 timeout=$3 deadline opts
    mapfile -t opts < <(ssh_opts "$port")
    deadline=$((SECONDS + timeout))
    while :; do
        if ssh "${opts[@]}" 127.0.0.1 true </dev/null >/dev/null 2>&1; then
            return 0
        fi
        if ! qemu_pid "$dir" >/dev/null; then
            console_tail "$dir"
            die "$(basename "$dir"): QEMU is not running (see $dir/console.log)"
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            console_tail "$dir"
            die "$(basename "$dir"): no SSH on 127.0.0.1:$port within ${timeout}s"
        fi
        sleep 2
    done
}

kill_qemu() {
    local dir=$1 pid
    pid="$(qemu_pid "$dir")" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 10); do
        qemu_pid "$dir" >/dev/null || return 0
        sleep 0.5
    done
    say "$(basename "$dir"): QEMU $pid ignored SIGTERM; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
}

cmd_start() {
    local name suite memory=2048 cpus=2 timeout=$ssh_timeout_default
    [ $# -ge 2 ] || usage
    name=$1 suite=$2
    shift 2
    while [ $# -gt 0 ]; do
        case "$1" in
            --memory) [ $# -ge 2 ] || usage; memory=$2; shift 2 ;;
            --memory=*) memory=${1#*=}; shift ;;
            --cpus) [ $# -ge 2 ] || usage; cpus=$2; shift 2 ;;
            --cpus=*) cpus=${1#*=}; shift ;;
            --timeout) [ $# -ge 2 ] || usage; timeout=$2; shift 2 ;;
            --timeout=*) timeout=${1#*=}; shift ;;
            *) die "start: unknown option '$1'" ;;
        esac
    done
    check_name "$name"
    if ! is_uint "$memory" || [ "$memory" -lt 256 ]; then die "--memory must be a number of MB >= 256"; fi
    if ! is_uint "$cpus" || [ "$cpus" -lt 1 ]; then die "--cpus must be a number >= 1"; fi
    is_uint "$timeout" || die "--timeout must be a number of seconds"
    need qemu-system-x86_64 qemu-img ssh python3 flock timeout

    local base kernel initrd ext
    for ext in raw vmlinuz initrd; do
        [ -e "$vm_dir/$suite.$ext" ] ||
            die "no VM image for '$suite' ($vm_dir/$suite.$ext); build it: scripts/build-vm-images.sh $suite"
    done
    [ -f "$key" ] || die "no SSH key $key; build the images: scripts/build-vm-images.sh $suite"
    # Resolved, so that a rebuild while this VM runs does not change its base.
    base="$(readlink -f "$vm_dir/$suite.raw")"
    kernel="$(readlink -f "$vm_dir/$suite.vmlinuz")"
    initrd="$(readlink -f "$vm_dir/$suite.initrd")"

    local dir=$run_base/$name pid
    if pid="$(qemu_pid "$dir")"; then
        die "$name is already running (pid $pid); stop it first: scripts/vm.sh stop $name"
    fi
    mkdir -p "$dir"
    rm -f "$dir/disk.qcow2" "$dir/qemu.pid" "$dir/port" "$dir/instance.json" "$dir/console.log" "$dir/qemu.err"

    local accel accel_args
    accel="$(detect_accel "$kernel")"
    if [ "$accel" = kvm ]; then
        accel_args=(-accel kvm -cpu host)
    else
        accel_args=(-accel "tcg,thread=multi" -cpu "${PGHOST_VM_CPU:-qemu64}")
    fi

    qemu-img create -q -f qcow2 -F raw -b "$base" "$dir/disk.qcow2"

    local port started attempt
    started=$SECONDS
    for attempt in 1 2 3 4 5; do
        port="$(free_port)"
        # -daemonize returns once QEMU is set up, so a port taken meanwhile
        # (another VM starting at the same time) fails here and is retried.
        if qemu-system-x86_64 \
            -name "pghost-$name" \
            "${accel_args[@]}" \
            -m "$memory" -smp "$cpus" \
            -nodefaults -display none \
            -kernel "$kernel" -initrd "$initrd" \
            -append "root=/dev/vda rw console=ttyS0 ${PGHOST_VM_APPEND:-}" \
            -drive "file=$dir/disk.qcow2,if=virtio,format=qcow2,cache=unsafe,discard=unmap" \
            -nic "user,model=virtio-net-pci,restrict=on,hostfwd=tcp:127.0.0.1:$port-:22" \
            -device virtio-rng-pci \
            -serial "file:$dir/console.log" \
            -pidfile "$dir/qemu.pid" \
            -daemonize 2>"$dir/qemu.err"; then
            break
        fi
        if grep -qi 'hostfwd\|forwarding rule' "$dir/qemu.err" && [ "$attempt" -lt 5 ]; then
            say "$name: port $port was taken; trying another"
            continue
        fi
        cat "$dir/qemu.err" >&2
        die "$name: QEMU did not start"
    done
    rm -f "$dir/qemu.err"
    echo "$port" >"$dir/port"
    pid="$(qemu_pid "$dir")" || { console_tail "$dir"; die "$name: QEMU exited right after starting"; }
    say "$name: $suite booting (pid $pid, $accel, ${cpus} vCPU, ${memory} MB, ssh 127.0.0.1:$port)"

    if ! (wait_ssh "$dir" "$port" "$timeout"); then
        kill_qemu "$dir"
        rm -f "$dir/disk.qcow2" "$dir/qemu.pid" "$dir/port"
        die "$name: did not come up; stopped it (console: $dir/console.log)"
    fi
    local boot=$((SECONDS - started))
    python3 - "$dir/instance.json" "$name" "$port" "$key" "$boot" "$accel" "$suite" "$pid" <<'EOF'
import json, sys
path, name, port, key, boot, accel, suite, pid = sys.argv[1:]
with open(path, "w") as f:
    json.dump({"instance": name, "address": "127.0.0.1", "port": int(port), "user": "root",
               "identity_file": key, "boot_seconds": int(boot), "accel": accel,
               "suite": suite, "pid": int(pid)}, f, indent=2)
    f.write("\n")
EOF
    echo "vm.sh: $name: SSH up after ${boot}s (127.0.0.1:$port, $accel)"
}

run_dir_of() {
    local name=$1
    check_name "$name"
    echo "$run_base/$name"
}

port_of() {
    local dir=$1
    [ -s "$dir/port" ] || die "$(basename "$dir") is not running (no $dir/port); start it: scripts/vm.sh start NAME SUITE"
    cat "$dir/port"
}

cmd_wait_ssh() {
    if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
    local dir port timeout=${2:-$ssh_timeout_default} started
    is_uint "$timeout" || die "wait-ssh: TIMEOUT must be a number of seconds"
    dir="$(run_dir_of "$1")"
    port="$(port_of "$dir")"
    qemu_pid "$dir" >/dev/null || die "$1 is not running"
    started=$SECONDS
    wait_ssh "$dir" "$port" "$timeout"
    echo "vm.sh: $1: SSH up after $((SECONDS - started))s"
}

cmd_reboot() {
    if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
    local dir port timeout=${2:-$ssh_timeout_default} started before after opts left
    is_uint "$timeout" || die "reboot: TIMEOUT must be a number of seconds"
    dir="$(run_dir_of "$1")"
    port="$(port_of "$dir")"
    qemu_pid "$dir" >/dev/null || die "$1 is not running"
    mapfile -t opts < <(ssh_opts "$port")
    before="$(ssh "${opts[@]}" 127.0.0.1 cat /proc/sys/kernel/random/boot_id </dev/null)"
    started=$SECONDS
    ssh "${opts[@]}" 127.0.0.1 'systemctl reboot' </dev/null >/dev/null 2>&1 || true
    # SSH may still answer from the old boot for a moment: wait for a new boot id.
    while :; do
        left=$((timeout - (SECONDS - started)))
        [ "$left" -gt 0 ] || left=0
        wait_ssh "$dir" "$port" "$left"
        after="$(ssh "${opts[@]}" 127.0.0.1 cat /proc/sys/kernel/random/boot_id </dev/null 2>/dev/null)" || after=""
        if [ -n "$after" ] && [ "$after" != "$before" ]; then
            break
        fi
        [ $((SECONDS - started)) -lt "$timeout" ] || die "$1: did not reboot within ${timeout}s"
        sleep 2
    done
    echo "vm.sh: $1: rebooted, SSH up after $((SECONDS - started))s"
}

cmd_ssh() {
    [ $# -ge 1 ] || usage
    local dir port opts
    dir="$(run_dir_of "$1")"
    shift
    port="$(port_of "$dir")"
    mapfile -t opts < <(ssh_opts "$port")
    if [ $# -eq 0 ]; then
        exec ssh "${opts[@]}" 127.0.0.1
    fi
    exec ssh "${opts[@]}" 127.0.0.1 "$@"
}

cmd_stop() {
    [ $# -eq 1 ] || usage
    local dir port pid opts
    dir="$(run_dir_of "$1")"
    if pid="$(qemu_pid "$dir")"; then
        if [ -s "$dir/port" ]; then
            port="$(cat "$dir/port")"
            mapfile -t opts < <(ssh_opts "$port")
            # The connection may drop as the guest goes down; that is fine.
            timeout -k 2 15 ssh "${opts[@]}" 127.0.0.1 'systemctl poweroff' </dev/null >/dev/null 2>&1 || true
        fi
        for _ in $(seq 1 30); do
            qemu_pid "$dir" >/dev/null || break
            sleep 1
        done
        if qemu_pid "$dir" >/dev/null; then
            say "$1: still running 30 s after poweroff; killing QEMU $pid"
            kill_qemu "$dir"
        fi
        qemu_pid "$dir" >/dev/null && die "$1: QEMU $pid would not die"
        say "$1: stopped"
    else
        say "$1: not running"
    fi
    # console.log stays for a post-mortem.
    rm -f "$dir/disk.qcow2" "$dir/qemu.pid" "$dir/port" "$dir/instance.json" "$dir/qemu.err"
}

cmd_status() {
    [ $# -eq 1 ] || usage
    local dir pid
    dir="$(run_dir_of "$1")"
    if pid="$(qemu_pid "$dir")"; then
        echo "$1: running (pid $pid, ssh 127.0.0.1:$(cat "$dir/port" 2>/dev/null || echo '?'))"
    else
        echo "$1: stopped"
        return 1
    fi
}

cmd_accel() {
    local kernel
    kernel="$(find "$vm_dir" -maxdepth 1 -name '*.vmlinuz' -type l 2>/dev/null | sort | head -n1)"
    [ -n "$kernel" ] || die "no VM kernel yet; run scripts/build-vm-images.sh"
    detect_accel "$(readlink -f "$kernel")"
}

[ $# -ge 1 ] || usage
sub=$1
shift
case "$sub" in
    start) cmd_start "$@" ;;
    wait-ssh) cmd_wait_ssh "$@" ;;
    reboot) cmd_reboot "$@" ;;
    ssh) cmd_ssh "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    accel) cmd_accel "$@" ;;
    -h | --help | help) usage ;;
    *) echo "vm.sh: unknown command '$sub'" >&2; usage ;;
esac
