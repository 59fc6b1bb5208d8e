#!/usr/bin/env bash
# Runs every fuzz target in turn for SECONDS_PER_TARGET seconds (default 600) and prints, for
# each, libFuzzer's last status line: executions, coverage, corpus size.
#
#   stack/fuzz/run.sh                 # all fifteen targets, 10 minutes each
#   stack/fuzz/run.sh tcp udp         # just these
#   SECONDS_PER_TARGET=60 stack/fuzz/run.sh
#
# Uses the nightly toolchain if rustup has one, else stable with RUSTC_BOOTSTRAP=1 (which lets
# stable accept the -Z flags cargo-fuzz passes). Crashes land in artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")"

seconds=${SECONDS_PER_TARGET:-600}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(ipv4 ipv6 icmp icmpv6 udp tcp ethernet_arp reassembly reassembly_v6 host_receive host_receive_ethernet host_receive_v6 tcp_conversation dns_message offload)
fi
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    fuzz=(cargo +nightly fuzz)
else
    export RUSTC_BOOTSTRAP=1
    fuzz=(cargo fuzz)
fi

mkdir -p logs
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    echo "fuzz: $target for ${seconds}s"
    status=0
    "${fuzz[@]}" run "$target" -- -max_total_time="$seconds" -print_final_stats=1 \
        >"logs/$target.log" 2>&1 || status=$?
    grep -E '^#[0-9]+' "logs/$target.log" | tail -n 1 || true
    grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec)' "logs/$target.log" || true
    if [ "$status" -ne 0 ]; then
        echo "fuzz: $target failed (exit $status); see logs/$target.log and artifacts/$target/"
        exit "$status"
    fi
done
