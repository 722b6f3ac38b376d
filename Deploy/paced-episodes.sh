#!/usr/bin/env bash
# Tells how the slow acknowledgements of paced runs fall in time: spread evenly, or gathered in episodes.
#
#   conduit bench broker --events 500 --paced-rate 10000 --paced-seconds 15 --stalled-rate 0 --paced-reference \
#       --paced-latencies DIR
#   bash Deploy/paced-episodes.sh DIR [SLOW_MS [WINDOW_MS]]
#
# For each CSV the benchmark wrote (sent_ms,latency_ms; run-N-broker.csv, run-N-reference.csv,
# run-N-broker-c-agents.csv), the events are put in windows of WINDOW_MS (default 100) by when they were sent; a window
# where at least a tenth of the events took SLOW_MS (default 3) or more is part of an episode, and neighbouring such
# windows make one. Prints the events, the slow ones, the windows in episodes, the share of the slow events that fall
# in them, the ACK p99 of all the events and of those sent outside the episodes, and when each episode began (ms from
# the first send) with its slowest acknowledgement.
set -euo pipefail
dir=${1:?usage: bash Deploy/paced-episodes.sh DIR [SLOW_MS [WINDOW_MS]]}
slow=${2:-3}
window=${3:-100}
[ -d "$dir" ] || { echo "paced-episodes: $dir is not a directory" >&2; exit 66; }
shopt -s nullglob
files=("$dir"/*.csv)
[ ${#files[@]} -gt 0 ] || { echo "paced-episodes: no CSV files in $dir (write them with conduit bench broker --paced-latencies $dir)" >&2; exit 66; }
for file in "${files[@]}"; do
    awk -F, -v slow="$slow" -v window="$window" -v name="$(basename "$file")" '
        function percentile(steps, count, top,   seen, step) {
            if (count == 0) return 0
            seen = 0
            for (step = 0; step <= top; step++) { seen += steps[step]; if (seen * 100 >= count * 99) return step / 100 }
            return top / 100
        }
        NR == 1 { if ($1 != "sent_ms") { printf "paced-episodes: %s has no sent_ms,latency_ms header\n", name > "/dev/stderr"; exit 65 } next }
        {
            w = int($1 / window); events[w]++; total++
            if ($2 >= slow) { late[w]++; slowTotal++ }
            if ($2 > worst[w]) worst[w] = $2
            at[total] = w; latency[total] = $2
            if (w > last) last = w
        }
        END {
            if (total == 0) { printf "%s: no events\n", name; exit }
            inEpisodes = 0; windows = 0; episodes = 0; list = ""; open = 0
            for (w = 0; w <= last; w++) {
                hot = events[w] > 0 && late[w] >= events[w] / 10
                if (hot) {
                    windows++; inEpisodes += late[w]
                    if (!open) { episodes++; start = w * window; peak = 0; open = 1 }
                    if (worst[w] > peak) peak = worst[w]
                } else if (open) { list = list sprintf(" %d (%.1f ms)", start, peak); open = 0 }
            }
            if (open) list = list sprintf(" %d (%.1f ms)", start, peak)
            # The p99 of all events, and of those sent outside the episodes, to 0.01 ms (counted in steps of it).
            m = 0; top = 0
            for (i = 1; i <= total; i++) {
                step = int(latency[i] * 100 + 0.5); if (step > top) top = step
                allSteps[step]++
                w = at[i]
                if (!(late[w] >= events[w] / 10)) { outsideSteps[step]++; m++ }
            }
            p99 = percentile(allSteps, total, top); p99outside = percentile(outsideSteps, m, top)
            printf "%s: %d events, %d at %g ms or more; %d episodes over %d of %d windows of %g ms hold %.0f%% of them; ACK p99 %.2f ms, %.2f ms outside the episodes\n",
                name, total, slowTotal, slow, episodes, windows, last + 1, window, slowTotal ? 100 * inEpisodes / slowTotal : 0, p99, p99outside
            if (episodes) printf "  episodes began at (ms, slowest):%s\n", list
        }' "$file"
done
