# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsers of FreeBSD sysctl(8) and swapinfo(8) output."""

from __future__ import annotations


def parse_sysctl_e(text):
    """`sysctl -e name...` output (name=value per line) -> {name: value}."""
    values = {}
    for line in (text or "").splitlines():
        name, sep, value = line.partition("=")
        if sep:
            values[name.strip()] = value.strip()
    return values


def parse_sysctl_names(text):
    """`sysctl -N ...` output (one OID name per line) -> set of names."""
    return set(line.strip() for line in (text or "").splitlines() if line.strip())


def parse_swapinfo_k(text):
    """`swapinfo -k` -> total swap in kB (device lines summed, the Total line skipped)."""
    total = 0
    for line in (text or "").splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 2 and fields[0] != "Total" and fields[1].isdigit():
            total += int(fields[1])
    return total
