#!/usr/bin/env bash
# What check mode and a refused run must leave as it was, one line each so a
# difference shows what moved: every entry under /etc (type, mode, owner,
# group, path, link target), the content of every file there, the THP unit
# state and the managed live kernel values.
set -euo pipefail
echo "etc entries $(find /etc -xdev -printf '%y %m %u %g %p -> %l\n' | LC_ALL=C sort | sha256sum | cut -d' ' -f1)"
echo "etc content $(find /etc -xdev -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
echo "thp unit $(systemctl is-enabled pghost-thp.service 2>/dev/null || true)"
sysctl kernel.shmmax kernel.shmall kernel.shmmni kernel.sem vm.overcommit_memory vm.overcommit_ratio \
    vm.swappiness vm.nr_hugepages
