#!/usr/bin/env bash
# The broker's own latency histograms over the paced phase of `conduit bench broker` (4 agents, window 256,
# 2 subscribers, a throughput phase of 500 events per agent): `ack_latency`, from taking an event off the ingest
# socket to sending its acknowledgement, and `journal_commit_duration`, the write and `fdatasync` of one batch. The
# phase's broker runs with its metrics endpoint on (`--http-address`, through --paced-broker-wrapper), read every
# 100 ms until it stops. They say how much of a paced latency is spent inside the broker, and how much of that in the
# journal.
#
#   bash Deploy/paced-histograms.sh [path/to/conduit [RATE SECONDS]]
#
# The conduit defaults to .build/release/conduit (build with -c release); RATE to 10000 events/s, SECONDS to 5.
# Needs curl and python3.
set -euo pipefail
conduit=${1:-.build/release/conduit}
rate=${2:-10000}
seconds=${3:-5}
for number in "$rate" "$seconds"; do
    case $number in ''|*[!0-9]*) echo "paced-histograms: RATE and SECONDS are whole numbers; got \"$number\"" >&2; exit 64 ;; esac
done
[ -x "$conduit" ] || { echo "paced-histograms: no executable conduit at $conduit (swift build -c release --product conduit)" >&2; exit 66; }
command -v curl >/dev/null || { echo "paced-histograms: needs curl (apt-get install curl)" >&2; exit 69; }
work=$(mktemp -d)
scraper=
trap '[ -n "$scraper" ] && kill "$scraper" 2>/dev/null; rm -rf "$work"' EXIT
# A port free now, for the paced phase's broker.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf '#!/bin/sh\nexec "$@" --http-address 127.0.0.1:%s\n' "$port" > "$work/with-metrics"
chmod +x "$work/with-metrics"
(
    while true; do
        if curl -s -m 1 "http://127.0.0.1:$port/metrics" > "$work/scrape" 2>/dev/null && [ -s "$work/scrape" ]; then
            mv "$work/scrape" "$work/metrics"
        fi
        sleep 0.1
    done
) &
scraper=$!
"$conduit" bench broker --runs 1 --agents 4 --subscribers 2 --events 500 --window 256 --paced-rate "$rate" \
    --paced-seconds "$seconds" --stalled-rate 0 --paced-broker-wrapper "$work/with-metrics" --json > "$work/bench.json"
[ -s "$work/metrics" ] || { echo "paced-histograms: the paced phase's broker was never read at 127.0.0.1:$port" >&2; exit 70; }
python3 - "$work/bench.json" "$work/metrics" <<'EOF'
import json, re, sys
figures = json.load(open(sys.argv[1]))["figures"]
print("bench (publish -> ACK, as the agents see it): p50 %.2f ms, p99 %.2f ms" % (
    figures["paced_ack_latency_p50"]["value"], figures["paced_ack_latency_p99"]["value"]))
text = open(sys.argv[2]).read()
for name, what in [("ack_latency", "events"), ("journal_commit_duration", "batches")]:
    buckets = [(float(m.group(1)), int(float(m.group(2))))
               for m in re.finditer(r'^conduit_broker_%s_seconds_bucket\{le="([^"+]+)"\} (\S+)' % name, text, re.M)]
    total = re.search(r'^conduit_broker_%s_seconds_count (\S+)' % name, text, re.M)
    if not buckets or not total or float(total.group(1)) == 0:
        print("%s: nothing recorded" % name)
        continue
    count = float(total.group(1))
    print("%s, %d %s:" % (name, count, what))
    for bound, cumulative in buckets:
        print("  within %8.3f ms: %6.2f%%  (%d)" % (bound * 1000, 100 * cumulative / count, cumulative))
EOF
