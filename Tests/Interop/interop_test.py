#!/usr/bin/env python3
"""Interoperability test of a running Conduit broker, using only the independent client in ``conduit_client.py``.

    python3 interop_test.py --ingest tcp://127.0.0.1:5570 --fanout tcp://127.0.0.1:5571 --query tcp://127.0.0.1:5572

Run it against a broker with an empty journal (the replay checks expect the journal to start at sequence 1). It
prints one line per check (``PASS``/``FAIL``), then ``N passed, M failed``; the exit status is 0 only if every check
passed. Every wait is bounded; the whole run takes a few seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from typing import Any, Dict, List

sys.dont_write_bytecode = True  # leave no __pycache__ beside the sources
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from conduit_client import (  # noqa: E402
    SIGNATURE, SEQUENCE_MAX, Ack, Acks, ConduitError, FanoutEvent, IngestClient, QueryClient, Reject, ServerError,
    Subscriber, encode_event, format_rfc3339_us, parse_rfc3339_us, topic_of, window_by_sequence, window_by_time,
)

POWER_SOURCE = "/power-supply-bureau/agent-1"
WATER_SOURCE = "/water-investment-company/agent-1"
PROGRESS_COUNT = 120
OUTAGE_COUNT = 80
WINDOW = 32
REPLAY_CREDIT = 16


class Checks:
    """Counts and prints checks."""

    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        if ok:
            self.passed += 1
            print(f"PASS {name}" + (f" ({detail})" if detail else ""))
        else:
            self.failed += 1
            print(f"FAIL {name}: {detail or 'check failed'}")
        sys.stdout.flush()
        return ok

    def crash(self, section: str, error: BaseException) -> None:
        self.failed += 1
        print(f"FAIL {section}: aborted by {type(error).__name__}: {error}")
        traceback.print_exc(file=sys.stderr)
        sys.stdout.flush()


# --- events of the default scenario ---------------------------------------------------------------------------------

def progress_event(run: str, index: int, percent: Any = None) -> Dict[str, Any]:
    """A valid progress event of the power work item at Ganjiaba, attributes in canonical order."""
    return {
        "specversion": "1.0", "id": f"pw-{run}-{index:04d}", "source": POWER_SOURCE, "type": "conduit.progress",
        "time": f"2023-06-01T08:{index % 60:02d}:00Z", "utility": "power", "site": "ganjiaba",
        "workitem": "ganjiaba-power",
        "data": {"status": "in_progress", "percent": index % 101 if percent is None else percent,
                 "plannedStart": "2023-04-01", "plannedFinish": "2023-09-30", "actualStart": "2023-04-03",
                 "householdsAffected": 120},
    }


def outage_event(run: str, index: int, site: str = "ruijing-biyuan") -> Dict[str, Any]:
    """A valid planned water outage at Ruijing Biyuan, attributes in canonical order."""
    return {
        "specversion": "1.0", "id": f"wo-{run}-{index:04d}", "source": WATER_SOURCE, "type": "conduit.outage",
        "time": "2023-06-01T09:00:00+08:00", "utility": "water", "site": site,
        "data": {"status": "noticed", "nature": "planned", "service": "water",
                 "windowStart": "2023-06-10T08:00:00+08:00", "windowEnd": "2023-06-10T12:00:00+08:00",
                 "households": 10},
    }


TIME_FIELDS = ("windowStart", "windowEnd", "noticedAt", "startedAt", "restoredAt", "scheduledAt", "performedAt")


def stamped(event: Dict[str, Any], sequence: int, recorded: str) -> bytes:
    """The canonical form the broker should forward for ``event`` (whose attributes and data fields are already in
    the spec's table order): times rewritten in UTC as Conduit writes them, ``sequence`` and ``recordedtime``
    stamped before ``data``."""
    def utc(text: str) -> str:
        return format_rfc3339_us(parse_rfc3339_us(text))
    result = {k: (utc(v) if k == "time" else v) for k, v in event.items() if k != "data"}
    result["sequence"] = sequence
    result["recordedtime"] = recorded
    result["data"] = {k: (utc(v) if k in TIME_FIELDS else v) for k, v in event["data"].items()}
    return encode_event(result)


# --- the test -------------------------------------------------------------------------------------------------------

class Interop:
    def __init__(self, args: argparse.Namespace, checks: Checks) -> None:
        self.args = args
        self.c = checks
        self.run = f"{int(time.time() * 1000) % 10 ** 10}-{os.getpid()}"
        self.sub: Subscriber = None
        self.power: IngestClient = None
        self.water: IngestClient = None
        self.query: QueryClient = None
        self.fanout: Dict[int, FanoutEvent] = {}     # every fan-out event seen, by sequence
        self.published: Dict[int, Dict[str, Any]] = {}  # accepted events by sequence
        self.baseline = 0

    # fan-out bookkeeping
    def drain_fanout(self, until_sequence: int, timeout: float = 5.0) -> None:
        """Receive fan-out messages until an event (or heartbeat) with ``until_sequence`` was seen."""
        deadline = time.monotonic() + timeout
        while (self.sub.last_sequence or 0) < until_sequence:
            message = self.sub.receive(max(0.01, deadline - time.monotonic()))
            if isinstance(message, FanoutEvent):
                if message.sequence in self.fanout:
                    self.c.check(f"fan-out sequence {message.sequence} received once", False, "received twice")
                self.fanout[message.sequence] = message

    def section_connect(self) -> None:
        c = self.c
        self.sub = Subscriber(self.args.fanout, prefixes=("",), timeout=5.0)
        heartbeat, early = self.sub.wait_heartbeat(timeout=5.0)
        self.baseline = heartbeat.sequence
        c.check("fan-out: heartbeat received first (subscription in place)", not early,
                f"latest sequence {heartbeat.sequence}" if not early else f"{len(early)} events before it")
        c.check("fan-out: heartbeat clock is now", abs(heartbeat.header.recorded_us - time.time() * 1e6) < 60e6,
                f"broker clock {heartbeat.header.recorded_us} µs")

        self.power = IngestClient(self.args.ingest, timeout=5.0)
        welcome = self.power.hello(POWER_SOURCE, 5000)
        c.check("HELLO -> WELCOME: heartbeat interval in 100..3600000 ms",
                100 <= welcome.heartbeat_interval_ms <= 3_600_000, f"{welcome.heartbeat_interval_ms} ms")
        c.check("HELLO -> WELCOME: max event bytes is 65536", welcome.max_event_bytes == 65536,
                f"{welcome.max_event_bytes}")
        c.check("HELLO -> WELCOME: max in flight >= 1", welcome.max_in_flight >= 1, f"{welcome.max_in_flight}")
        c.check("HELLO -> WELCOME: journal head is the latest sequence (or the birth just recorded)",
                welcome.journal_head in (self.baseline, self.baseline + 1),
                f"head {welcome.journal_head}, fan-out heartbeat said {self.baseline}")
        self.water = IngestClient(self.args.ingest, timeout=5.0)
        welcome_water = self.water.hello(WATER_SOURCE, 5000)
        c.check("second agent HELLO -> WELCOME", welcome_water.max_in_flight >= 1,
                f"head {welcome_water.journal_head}")

    def publish_batch(self, agent: IngestClient, events: List[Dict[str, Any]], label: str) -> List[Ack]:
        window = min(WINDOW, agent.welcome.max_in_flight)
        started = time.monotonic()
        results = agent.publish_all(events, window=window, timeout=5.0)
        elapsed = time.monotonic() - started
        rejects = [r for r in results if isinstance(r, Reject)]
        self.c.check(f"publish {len(events)} {label} events (window {window}): all ACKed",
                     not rejects and len(results) == len(events),
                     f"{len(results)} replies in {elapsed:.2f} s" if not rejects else f"first reject {rejects[0]}")
        acks = [r for r in results if isinstance(r, Ack)]
        ok_echo = all(a.source == e["source"] and a.id == e["id"] for a, e in zip(results, events))
        self.c.check(f"{label} ACKs echo source and id", ok_echo)
        self.c.check(f"{label} ACKs: none duplicate", not any(a.duplicate for a in acks))
        sequences = [a.sequence for a in acks]
        self.c.check(f"{label} ACK sequences increase in PUBLISH order (one connection)",
                     all(b > a for a, b in zip(sequences, sequences[1:])))
        for ack, event in zip(results, events):
            if isinstance(ack, Ack):
                self.published[ack.sequence] = event
        return acks

    def section_publish(self) -> None:
        c = self.c
        # The births of both agents come first on the fan-out.
        head_before = self.query.head().head_sequence
        self.drain_fanout(head_before)
        progress = [progress_event(self.run, i) for i in range(PROGRESS_COUNT)]
        outages = [outage_event(self.run, i) for i in range(OUTAGE_COUNT)]
        acks = self.publish_batch(self.power, progress, "progress") + self.publish_batch(self.water, outages, "outage")
        sequences = sorted(a.sequence for a in acks)
        c.check(f"{len(acks)} ACKs with contiguous sequences",
                len(acks) == PROGRESS_COUNT + OUTAGE_COUNT
                and sequences == list(range(sequences[0], sequences[0] + len(sequences))),
                f"{sequences[0]}..{sequences[-1]}" if sequences else "no ACK")
        c.check("first ACK follows the journal head", bool(sequences) and sequences[0] == head_before + 1,
                f"head before {head_before}, first ACK {sequences[0] if sequences else None}")
        self.first_acked = dict((a.id, a) for a in acks)

        # The subscriber sees them, in order, stamped.
        self.drain_fanout(sequences[-1])
        c.check("fan-out: no gap and nothing out of order since the first heartbeat",
                not self.sub.gaps and not self.sub.out_of_order,
                f"gaps {self.sub.gaps[:3]}, out of order {self.sub.out_of_order[:3]}")
        seen = sorted(self.fanout)
        c.check("fan-out: sequences contiguous from the heartbeat's latest + 1",
                seen == list(range(self.baseline + 1, self.baseline + 1 + len(seen))),
                f"{seen[0]}..{seen[-1]}" if seen else "nothing")
        missing = [s for s in sequences if s not in self.fanout]
        c.check("fan-out: every acknowledged event received", not missing, f"missing {missing[:5]}")
        bad_json, bad_topic, bad_canon, bad_time = [], [], [], []
        for sequence in sequences:
            message = self.fanout.get(sequence)
            if message is None:
                continue
            body = message.json()
            if body.get("sequence") != sequence or body.get("id") != self.published[sequence]["id"]:
                bad_json.append((sequence, body.get("sequence"), body.get("id")))
            if message.topic != topic_of(body):
                bad_topic.append((sequence, message.topic, topic_of(body)))
            recorded = body.get("recordedtime")
            try:
                if parse_rfc3339_us(recorded) != message.header.recorded_us:
                    bad_time.append((sequence, recorded, message.header.recorded_us))
            except (TypeError, ValueError):
                bad_time.append((sequence, recorded, message.header.recorded_us))
            if isinstance(recorded, str) and message.raw != stamped(self.published[sequence], sequence, recorded):
                bad_canon.append(sequence)
        c.check("fan-out: event JSON carries the stamped sequence = record header sequence", not bad_json,
                f"{bad_json[:3]}")
        c.check("fan-out: topic is <kind>/<utility>/<community>/ of the event", not bad_topic, f"{bad_topic[:3]}")
        c.check("fan-out: JSON recordedtime = record header recorded time", not bad_time, f"{bad_time[:3]}")
        c.check("fan-out: JSON is the canonical form (sent event + sequence, recordedtime before data)",
                not bad_canon, f"differs at sequences {bad_canon[:5]}; e.g. {self.fanout[bad_canon[0]].raw[:200]!r}"
                if bad_canon else "")
        presence = [m for s, m in self.fanout.items()
                    if s <= head_before and m.json().get("type") == "conduit.presence"]
        births = {m.json().get("source") for m in presence if m.json().get("data", {}).get("status") == "birth"}
        c.check("fan-out: HELLO recorded a presence birth for each agent", {POWER_SOURCE, WATER_SOURCE} <= births,
                f"births for {sorted(births)}")

    def section_duplicate(self) -> None:
        c = self.c
        event = progress_event(self.run, 0)
        original = self.first_acked[event["id"]]
        head_before = self.query.head().head_sequence
        reply = self.power.publish_one(event)
        c.check("resend an acknowledged event -> ACK", isinstance(reply, Ack), f"{reply}")
        if isinstance(reply, Ack):
            c.check("duplicate ACK: duplicate flag set", reply.duplicate, f"{reply}")
            c.check("duplicate ACK: original sequence", reply.sequence == original.sequence,
                    f"got {reply.sequence}, original {original.sequence}")
        c.check("duplicate not stored again (head unchanged)", self.query.head().head_sequence == head_before)

    def expect_reject(self, label: str, agent: IngestClient, reply, code: str, path: str = None,
                      correlation: int = None) -> None:
        c = self.c
        if not c.check(f"{label} -> REJECT", isinstance(reply, Reject), f"got {reply}"):
            return
        ok_code = reply.code == code or (code.endswith(".*") and reply.code.startswith(code[:-1]))
        c.check(f"{label} -> code {code}", ok_code, f"got {reply.code} at {reply.path}: {reply.reason}")
        if path is not None:
            c.check(f"{label} -> path {path}", reply.path == path, f"got {reply.path!r}")
        if correlation is not None:
            c.check(f"{label} -> correlation {correlation}", reply.correlation == correlation,
                    f"got {reply.correlation}")
        c.check(f"{label} -> reason given", bool(reply.reason), repr(reply.reason))

    def valid_after(self, label: str, agent: IngestClient, event: Dict[str, Any], head_before: int) -> None:
        c = self.c
        c.check(f"after {label}: nothing stored (head unchanged)", self.query.head().head_sequence == head_before)
        reply = agent.publish_one(event)
        ok = isinstance(reply, Ack) and not reply.duplicate and reply.sequence == head_before + 1
        c.check(f"after {label}: a valid publish is ACKed with the next sequence", ok,
                f"{reply}, head before {head_before}")
        if isinstance(reply, Ack):
            self.published[reply.sequence] = event

    def section_rejects(self) -> None:
        p = self.power
        head = self.query.head().head_sequence
        bad = progress_event(self.run, 1000, percent=140)
        self.expect_reject('"percent":140', p, p.publish_one(bad), "data.range", "data.percent")
        self.valid_after('"percent":140', p, progress_event(self.run, 1001), head)

        head = self.query.head().head_sequence
        unknown = outage_event(self.run, 1002, site="atlantis")
        self.expect_reject("unknown community", self.water, self.water.publish_one(unknown), "scenario.community")
        self.valid_after("unknown community", self.water, outage_event(self.run, 1003), head)

        head = self.query.head().head_sequence
        p.send_raw([SIGNATURE, b"PUBLISH", (4242).to_bytes(8, "big")])  # the event frame is missing
        self.expect_reject("PUBLISH of 3 frames (wrong arity)", p, p.next_reply(), "frame.arity",
                           correlation=4242)
        p.send_raw([SIGNATURE, b"PUBLISH"])
        self.expect_reject("PUBLISH of 2 frames (wrong arity)", p, p.next_reply(), "frame.arity", correlation=0)
        self.valid_after("wrong arity", p, progress_event(self.run, 1004), head)

        head = self.query.head().head_sequence
        self.expect_reject("invalid JSON (truncated)", p, p.publish_one(b'{"specversion":"1.0",'), "json.*")
        dup_key = encode_event(progress_event(self.run, 1005))[:-1] + b',"id":"again"}'
        self.expect_reject("JSON with a duplicate key", p, p.publish_one(dup_key), "json.duplicate_key")
        self.valid_after("invalid JSON", p, progress_event(self.run, 1006), head)

    def section_replay(self) -> None:
        c = self.c
        q = self.query
        full = q.replay(window_by_sequence(1, SEQUENCE_MAX), credit=REPLAY_CREDIT, timeout=5.0)
        sequences = [r.sequence for r in full.records]
        c.check(f"REPLAY 1..2^64-1 with credit {REPLAY_CREDIT}: every event exactly once, in order",
                bool(sequences) and sequences == list(range(1, len(sequences) + 1)),
                f"{len(sequences)} events, {full.credits_sent} CREDIT messages sent")
        c.check("REPLAY needed CREDIT top-ups (flow control exercised)", full.credits_sent > 0,
                f"{full.credits_sent}")
        end = full.end
        c.check("REPLAY END reason beyond_head", end is not None and end.reason == "beyond_head", f"{end}")
        c.check("REPLAY END last sequence = journal head = last record",
                end is not None and end.last_sequence == end.journal_head == (sequences[-1] if sequences else 0),
                f"{end}")
        mismatched = [r.sequence for r in full.records if r.json().get("sequence") != r.sequence]
        c.check("REPLAY records: JSON sequence = record header sequence", not mismatched, f"{mismatched[:5]}")
        by_sequence = {r.sequence: r for r in full.records}
        differs = [s for s, m in self.fanout.items()
                   if s not in by_sequence or by_sequence[s].raw != m.raw or by_sequence[s].header != m.header]
        c.check("REPLAY records are byte-identical to the fan-out (header and JSON)", not differs,
                f"differ at {differs[:5]}")
        lost = [s for s in self.published if s not in by_sequence]
        c.check("every acknowledged event is in the journal", not lost, f"missing {lost[:5]}")

        head = q.head()
        c.check("HEAD head sequence = END head", end is not None and head.head_sequence == end.journal_head,
                f"{head}")
        c.check("HEAD first sequence = 1 (empty journal at start)", head.first_sequence == 1, f"{head}")
        c.check("HEAD recorded time = last record's",
                bool(full.records) and head.head_recorded_us == full.records[-1].header.recorded_us, f"{head}")

        prefix = "outage/water/"
        filtered = q.replay(window_by_sequence(1, SEQUENCE_MAX), credit=REPLAY_CREDIT, prefixes=[prefix])
        expected = [r.sequence for r in full.records if topic_of(r.json()).startswith(prefix)]
        got = [r.sequence for r in filtered.records]
        c.check(f"REPLAY with prefix {prefix}: only and all matching events",
                got == expected and all(topic_of(r.json()).startswith(prefix) for r in filtered.records)
                and len(got) >= OUTAGE_COUNT, f"{len(got)} events, expected {len(expected)}")
        c.check(f"REPLAY with prefix {prefix}: END beyond_head",
                filtered.end is not None and filtered.end.reason == "beyond_head", f"{filtered.end}")

        prefixes = ["presence/", "progress/power/ganjiaba/"]
        filtered = q.replay(window_by_sequence(1, SEQUENCE_MAX), credit=REPLAY_CREDIT, prefixes=prefixes)
        expected = [r.sequence for r in full.records if any(topic_of(r.json()).startswith(p) for p in prefixes)]
        c.check(f"REPLAY with prefixes {prefixes}: only and all matching events",
                [r.sequence for r in filtered.records] == expected, f"{len(filtered.records)} of {len(expected)}")

        if len(full.records) > 10:
            middle = full.records[len(full.records) // 2]
            first, last = middle.sequence, middle.sequence + 5
            bounded = q.replay(window_by_sequence(first, last), credit=4)
            c.check(f"REPLAY {first}..{last}: those 6 events, END complete",
                    [r.sequence for r in bounded.records] == list(range(first, last + 1))
                    and bounded.end is not None and bounded.end.reason == "complete"
                    and bounded.end.last_sequence == last, f"{[r.sequence for r in bounded.records]}, {bounded.end}")
            start_us = middle.header.recorded_us
            stop_us = full.records[-1].header.recorded_us + 1
            timed = q.replay(window_by_time(start_us, stop_us), credit=REPLAY_CREDIT)
            expected = [r.sequence for r in full.records if start_us <= r.header.recorded_us < stop_us]
            c.check("REPLAY by recorded time: exactly the events in [from, to)",
                    [r.sequence for r in timed.records] == expected and timed.end is not None,
                    f"{len(timed.records)} of {len(expected)}, {timed.end}")

        try:
            q.replay(window_by_sequence(10, 5), credit=4, timeout=2.0)
            c.check("REPLAY of a window ending before it begins -> ERROR data.window", False, "no ERROR")
        except ServerError as error:
            c.check("REPLAY of a window ending before it begins -> ERROR data.window",
                    error.reply.code == "data.window", f"{error.reply.code} at {error.reply.path}")

        stats = q.stats()
        c.check("STATS is a JSON object", isinstance(stats.counters, dict) and bool(stats.counters),
                f"{len(stats.counters)} counters")

    def section_goodbye(self) -> None:
        c = self.c
        head = self.query.head().head_sequence
        self.power.goodbye()
        self.water.goodbye()
        deaths, deadline = set(), time.monotonic() + 5.0
        while len(deaths) < 2 and time.monotonic() < deadline:
            message = self.sub.receive(max(0.01, deadline - time.monotonic()))
            if isinstance(message, FanoutEvent):
                self.fanout[message.sequence] = message
                body = message.json()
                if body.get("type") == "conduit.presence" and body.get("data", {}).get("status") == "death":
                    deaths.add(body.get("source"))
        c.check("GOODBYE: the broker records each agent's death (presence on the fan-out)",
                deaths == {POWER_SOURCE, WATER_SOURCE}, f"deaths for {sorted(deaths)}")
        final = self.query.head().head_sequence
        c.check("after GOODBYE: fan-out stayed contiguous up to the head",
                not self.sub.gaps and not self.sub.out_of_order and self.sub.last_sequence == final
                and final >= head + 2, f"last seen {self.sub.last_sequence}, head {final}")

    def section_batch(self) -> None:
        """HELLO asking for the batch feature, then one BATCH of three events, the second invalid: each is answered
        as if published alone, acknowledgements in ACKS, in the order the events were sent."""
        c = self.c
        welcome = self.power.hello(POWER_SOURCE, 5000, features=("batch",))
        if not c.check("HELLO asking for batch -> WELCOME grants batch in frame[3]", "batch" in welcome.features,
                       f"{welcome.features}"):
            return
        head_before = self.query.head().head_sequence
        events = [progress_event(self.run, 900), progress_event(self.run, 901, percent=140),
                  progress_event(self.run, 902)]
        correlations = self.power.batch(events)
        answers = []
        deadline = time.monotonic() + 5.0
        while sum(len(a.entries) if isinstance(a, Acks) else 1 for a in answers) < 3 and time.monotonic() < deadline:
            reply = self.power.receive(max(0.01, deadline - time.monotonic()))
            if isinstance(reply, (Acks, Reject)):
                answers.append(reply)
        shape = [("ACKS", [e[0] for e in a.entries]) if isinstance(a, Acks) else ("REJECT", [a.correlation])
                 for a in answers]
        c.check("BATCH -> ACKS, REJECT, ACKS in the order sent",
                shape == [("ACKS", [correlations[0]]), ("REJECT", [correlations[1]]), ("ACKS", [correlations[2]])],
                f"{shape}")
        sequences = [e[1] for a in answers if isinstance(a, Acks) for e in a.entries]
        c.check("BATCH: the two valid events take the next two sequences",
                sequences == [head_before + 1, head_before + 2], f"{sequences} after head {head_before}")
        rejects = [a for a in answers if isinstance(a, Reject)]
        c.check("BATCH: the invalid entry is rejected alone (data.range at data.percent)",
                len(rejects) == 1 and rejects[0].code == "data.range" and rejects[0].path == "data.percent",
                f"{rejects}")
        self.drain_fanout(head_before + 2)
        ids = {self.fanout[s].json().get("id") for s in (head_before + 1, head_before + 2) if s in self.fanout}
        c.check("BATCH: both valid events reach the fan-out", ids == {events[0]["id"], events[2]["id"]}, f"{ids}")

    def run_all(self) -> None:
        self.query = QueryClient(self.args.query, timeout=5.0)
        sections = [("connect", self.section_connect), ("publish", self.section_publish),
                    ("duplicate", self.section_duplicate), ("rejects", self.section_rejects),
                    ("replay", self.section_replay), ("batch", self.section_batch),
                    ("goodbye", self.section_goodbye)]
        for name, section in sections:
            try:
                section()
            except (ConduitError, AssertionError, KeyError, TypeError, ValueError, AttributeError,
                    IndexError) as error:
                self.c.crash(name, error)
                if name == "connect":
                    break

    def close(self) -> None:
        for client in (self.sub, self.power, self.water, self.query):
            if client is not None:
                client.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ingest", required=True, help="the broker's ingest endpoint")
    parser.add_argument("--fanout", required=True, help="the broker's fan-out endpoint")
    parser.add_argument("--query", required=True, help="the broker's query endpoint")
    args = parser.parse_args()
    checks = Checks()
    interop = Interop(args, checks)
    started = time.monotonic()
    try:
        interop.run_all()
    finally:
        interop.close()
    print(f"# {time.monotonic() - started:.1f} s", file=sys.stderr)
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 0 if checks.failed == 0 and checks.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
