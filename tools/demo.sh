#!/usr/bin/env bash
# `make demo`: start the bundled demo tokio service under inspection for a few
# seconds and print the report (the stuck task tops the table).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${DEMO_SECONDS:-5}
echo "== inspecting the demo service for ${seconds}s (tests/programs/src/bin/demo.rs) =="
exec build/async-inspect-bpf run --duration "$seconds" --tasks 15 --json build/demo.json \
	-- tests/programs/target/demo/demo
