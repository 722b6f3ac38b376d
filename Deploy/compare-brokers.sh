#!/usr/bin/env bash
# Measures two builds of the broker back to back in one sitting: `conduit bench broker` (of the second build) drives
# the throughput phase's broker of each build in turn, one run each, alternating, for both workloads (1 agent, window
# 1,000, no subscriber; 4 agents, window 256, 2 subscribers), and prints the median broker CPU per event and
# acknowledged events/s of each build, and their ratios: of the medians, and the median of each pair of runs' own ratio.
#
#   bash Deploy/compare-brokers.sh OLD_CONDUIT NEW_CONDUIT [RUNS] [EVENTS]
#
# RUNS defaults to 5; EVENTS, the events of one run in all (shared among the agents), to 100,000. Each run starts a
# fresh broker, so what a broker pays once (its dedupe window's memory is zeroed by the kernel as keys first reach it,
# 24 MiB with the default window; connections; HELLOs) is spread over EVENTS: a larger EVENTS comes closer to a
# broker that has been running for a while.
#
# To build an earlier commit beside this one: git worktree add /tmp/old <commit> && (cd /tmp/old && swift build -c
# release --product conduit); OLD_CONDUIT is then /tmp/old/.build/release/conduit.
set -euo pipefail
if [ $# -lt 2 ] || [ $# -gt 4 ]; then
    echo "usage: bash Deploy/compare-brokers.sh OLD_CONDUIT NEW_CONDUIT [RUNS] [EVENTS]   (two conduit executables; RUNS defaults to 5, EVENTS to 100000)" >&2
    exit 64
fi
old=$1
new=$2
runs=${3:-5}
events=${4:-100000}
case $runs in ''|*[!0-9]*|0) echo "compare-brokers: RUNS must be a positive number; got \"$runs\"" >&2; exit 64 ;; esac
case $events in ''|*[!0-9]*) echo "compare-brokers: EVENTS must be a whole number of at least 1000; got \"$events\"" >&2; exit 64 ;; esac
[ "$events" -ge 1000 ] || { echo "compare-brokers: EVENTS must be at least 1000; got $events" >&2; exit 64; }
for binary in "$old" "$new"; do
    [ -x "$binary" ] || { echo "compare-brokers: $binary is not an executable" >&2; exit 66; }
done
work=$(mktemp -d /tmp/conduit-compare.XXXXXX)
trap 'rm -rf "$work"' EXIT
# The bench starts `<wrapper> <its own conduit> broker …`: the wrapper runs the chosen build's conduit instead.
cat > "$work/as" <<'SH'
#!/bin/sh
binary=$1
shift 2
exec "$binary" "$@"
SH
chmod +x "$work/as"
# 100,000 events a run in all by default: the CPU time a process has used is counted in clock ticks (10 ms), a tenth
# of a second or more keeps that within a few percent.
measure() {  # label binary agents subscribers window
    "$new" bench broker --runs 1 --agents "$3" --subscribers "$4" --window "$5" --events $((events / $3)) \
        --paced-rate 100 --paced-seconds 1 \
        --stalled-rate 0 --json --broker-wrapper "$work/as $2" 2>>"$work/stderr" >>"$work/$1.json"
}
for workload in "1 0 1000" "4 2 256"; do
    set -- $workload
    name="a$1-s$2-w$3"
    for run in $(seq "$runs"); do
        measure "$name-old" "$old" "$@"
        measure "$name-new" "$new" "$@"
        echo "compare-brokers: $name run $run of $runs" >&2
    done
done
python3 - "$work" <<'PY'
import json, statistics, sys, os
work = sys.argv[1]
def figures(name, key):
    values = []
    text = open(os.path.join(work, name + ".json")).read()
    decoder, at = json.JSONDecoder(), 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            return values
        report, at = decoder.raw_decode(text, at)
        values.append(report["figures"][key]["value"])
for workload, label in (("a1-s0-w1000", "1 agent, window 1000, no subscriber"), ("a4-s2-w256", "4 agents, window 256, 2 subscribers")):
    print(label)
    for key, unit in (("broker_cpu_per_event", "µs"), ("acknowledged", "events/s")):
        old = figures(workload + "-old", key)
        new = figures(workload + "-new", key)
        mo, mn = statistics.median(old), statistics.median(new)
        print(f"  {key}: old {mo:.4g} {unit}, new {mn:.4g} {unit}, new/old {mn / mo:.3f}  (old runs {', '.join(f'{v:.4g}' for v in old)}; new runs {', '.join(f'{v:.4g}' for v in new)})")
    # Each new run follows its old run at once: the median of the runs' own ratios leaves out much of what the machine
    # does from one minute to the next, and the load generator (the same build in both) shows how fast it was going.
    old = figures(workload + "-old", "broker_cpu_per_event")
    new = figures(workload + "-new", "broker_cpu_per_event")
    paired = [n / o for o, n in zip(old, new)]
    print(f"  broker_cpu_per_event, median of each pair's new/old: {statistics.median(paired):.3f}  (pairs {', '.join(f'{r:.3f}' for r in paired)})")
    og = figures(workload + "-old", "generator_cpu_per_event")
    ng = figures(workload + "-new", "generator_cpu_per_event")
    print(f"  generator_cpu_per_event: with old {statistics.median(og):.4g} µs, with new {statistics.median(ng):.4g} µs")
PY
