#ifndef TRANSPORT_REFERENCE_H
#define TRANSPORT_REFERENCE_H

#include <stdint.h>

/// The transport benchmark's loops written directly against libzmq in C: the reference `conduit bench transport`
/// compares the Swift binding with, in the same run. Each returns messages per second, or a negative value:
/// `TRANSPORT_REFERENCE_STALLED` when no message moved for `TRANSPORT_REFERENCE_STALL_MS` (every send and receive
/// is bounded by it, so a loop never waits for ever), `TRANSPORT_REFERENCE_FAILED` on any other libzmq error.

#define TRANSPORT_REFERENCE_STALL_MS 30000
#define TRANSPORT_REFERENCE_FAILED (-1.0)
#define TRANSPORT_REFERENCE_STALLED (-2.0)

/// PUB→SUB over tcp loopback: `count` messages of a topic frame and a `payload_size`-byte frame; the publisher
/// (with ZMQ_XPUB_NODROP) waits at its high-water mark rather than drop, so every message is delivered.
double transport_reference_pub_sub(int count, int payload_size, const char *topic);

/// DEALER→ROUTER over tcp loopback with one acknowledgement per message and at most `window` unacknowledged.
/// The ROUTER is closed only after the DEALER has every acknowledgement (closing it with linger 0 right after
/// the last send would discard acknowledgements still queued).
double transport_reference_dealer_router(int count, int payload_size, const char *topic, int window);

/// The paced phase's reference (`conduit bench broker --paced-reference`). Without `ingest`: a broker loop on a thread
/// of its own (ROUTER for ingest, XPUB for fan-out, its own libzmq context) that takes every request waiting, writes
/// them with their 16-byte headers in one `pwrite` to `journal_path` (removed afterwards), syncs them with one
/// `fdatasync`, then publishes and acknowledges each. With `ingest` and `fanout`: a Conduit broker there, spoken to
/// in its wire protocol (one event a `BATCH`, acknowledged in `ACKS`; the broker's heartbeat shows a subscriber is in
/// place). Either way, `agents` DEALER threads send `rate` events/s in all for `seconds`, one request an event, and
/// `subscribers` SUB threads receive every event, on a libzmq context of their own.
struct transport_reference_paced_workload {
    int agents, subscribers, rate, seconds;
    /// The bytes of an event the loop stores (at least 16), or room for a Conduit event's BATCH body.
    int payload_size;
    const char *journal_path;
    const char *ingest, *fanout;
    /// For a Conduit broker, per agent: the event JSON before and after "<number>-<µs sent>", the end of its id.
    const char *const *event_prefixes;
    const char *const *event_suffixes;
};

/// Runs `workload`. Latencies in microseconds go to `ack_us` (room for `agents * transport_reference_paced_per_agent(…)`)
/// and `delivery_us` (room for `subscribers` times that), their counts to `ack_count` and `delivery_count`; unless
/// `ack_sent_us` is NULL, when each acknowledged event was sent (µs, CLOCK_MONOTONIC) goes there, beside `ack_us`.
/// Returns 0, or a `TRANSPORT_REFERENCE_*` failure (a reply other than `ACKS` fails it too).
double transport_reference_paced(
    const struct transport_reference_paced_workload *workload, int64_t *ack_us, int64_t *ack_sent_us, long *ack_count,
    int64_t *delivery_us, long *delivery_count);

/// Events each agent of `transport_reference_paced` sends.
int transport_reference_paced_per_agent(int agents, int rate, int seconds);

#endif
