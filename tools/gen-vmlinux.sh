#!/usr/bin/env bash
# Regenerate vmlinux/vmlinux.h from the running kernel's BTF (committed; CO-RE
# relocations make one header work across kernels).
set -euo pipefail
cd "$(dirname "$0")/.."
bpftool btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h
echo "wrote vmlinux/vmlinux.h ($(wc -l < vmlinux/vmlinux.h) lines)"
