#!/usr/bin/env bash
# Counts the instructions the broker executes per acknowledged event, with valgrind's callgrind: the throughput
# phase of `conduit bench broker` (by default 1 agent, window 1,000, no subscriber) run twice under callgrind, with
# 20,000 events in all and with 100 per agent; the difference divided by the difference in events leaves out what
# starting and stopping cost. Instruction counts do
# not depend on how busy the machine is, so two builds can be compared on any machine, one after the other.
#
#   bash Deploy/profile-broker.sh [path/to/conduit [AGENTS SUBSCRIBERS WINDOW]]
#
# The conduit defaults to .build/release/conduit (build with -c release); the workload to 1 0 1000. The other
# workload of the README is 4 2 256 (4 agents, 2 subscribers, window 256): 20,000 events shared by the agents.
#
# Needs valgrind (apt-get install valgrind), a C compiler and objcopy (binutils). Leaves the callgrind files in a temporary directory
# it names, for callgrind_annotate.
set -euo pipefail
conduit=${1:-.build/release/conduit}
agents=${2:-1}
subscribers=${3:-0}
window=${4:-1000}
for number in "$agents" "$subscribers" "$window"; do
    case $number in ''|*[!0-9]*) echo "profile-broker: AGENTS, SUBSCRIBERS and WINDOW are whole numbers; got \"$number\"" >&2; exit 64 ;; esac
done
# Read as decimal, whatever leading zeros they have.
agents=$((10#$agents)); subscribers=$((10#$subscribers)); window=$((10#$window))
[ "$agents" -ge 1 ] && [ "$agents" -le 100 ] || { echo "profile-broker: AGENTS must be 1 to 100; got $agents" >&2; exit 64; }
[ "$window" -ge 1 ] || { echo "profile-broker: WINDOW must be at least 1; got $window" >&2; exit 64; }
command -v valgrind >/dev/null || { echo "profile-broker: valgrind is not installed (apt-get install valgrind)" >&2; exit 69; }
[ -x "$conduit" ] || { echo "profile-broker: $conduit is not an executable (swift build -c release)" >&2; exit 66; }
work=$(mktemp -d /tmp/conduit-profile.XXXXXX)
# Valgrind 3.19 writes into the signal mask given to rt_sigsuspend, which libdispatch keeps in read-only memory;
# this shim hands the kernel a copy.
cat > "$work/sigsuspend.c" <<'C'
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int sigsuspend(const sigset_t *mask) {
    sigset_t copy;
    memcpy(&copy, mask, sizeof copy);
    return syscall(SYS_rt_sigsuspend, &copy, _NSIG / 8);
}
C
cc -shared -fPIC -O2 -o "$work/sigsuspend.so" "$work/sigsuspend.c"
# Valgrind 3.19 cannot read the DWARF 5 that Swift 6 writes: the profiled copy keeps its symbols, not its debug info.
cp "$conduit" "$work/conduit"
objcopy --strip-debug "$work/conduit"
conduit="$work/conduit"
count() {
    local events=$1
    "$conduit" bench broker --runs 1 --agents "$agents" --subscribers "$subscribers" --window "$window" --events $((events / agents)) \
        --paced-rate 100 --paced-seconds 1 --stalled-rate 0 --dir "$work" --json \
        --broker-wrapper "env LD_PRELOAD=$work/sigsuspend.so valgrind --tool=callgrind --callgrind-out-file=$work/callgrind.$events.%p" \
        > "$work/bench.$events.json" 2> "$work/bench.$events.err" || {
        echo "profile-broker: the bench of $events events failed:" >&2
        tail -5 "$work/bench.$events.err" >&2
        return 1
    }
    grep -h '^summary:' "$work"/callgrind."$events".* | awk '{print $2}'
}
# What the agents send in all: 20,000 shared among them, and 100 each (the least a run takes).
sent_big=$(( 20000 / agents * agents ))
sent_small=$(( 100 * agents ))
big=$(count "$sent_big") || exit 1
small=$(count "$sent_small") || exit 1
echo "broker instructions per acknowledged event: $(( (big - small) / (sent_big - sent_small) ))  ($agents agents, $subscribers subscribers, window $window; $sent_big events: $big; $sent_small events: $small; files in $work)"
