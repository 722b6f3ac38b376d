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

/// The paced phase's reference (`conduit bench broker --paced-reference`): a broker loop on a thread of its own (ROUTER
/// for ingest, XPUB for fan-out, its own libzmq context) that takes every request waiting, writes them with one
/// `pwrite` and one `fdatasync` to `journal_path` (removed afterwards), then publishes and acknowledges each; `agents`
/// DEALER threads that send `rate` events/s in all for `seconds` (each event `payload_size` bytes, one request each) and
/// `subscribers` SUB threads, on a second context. Latencies in microseconds go to `ack_us` (room for
/// `agents * transport_reference_paced_per_agent(...)`) and `delivery_us` (room for `subscribers` times that), their
/// counts to `ack_count` and `delivery_count`. Returns 0, or a `TRANSPORT_REFERENCE_*` failure.
double transport_reference_paced(
    int agents, int subscribers, int rate, int seconds, int payload_size, const char *journal_path, int64_t *ack_us,
    long *ack_count, int64_t *delivery_us, long *delivery_count);

/// Events each agent of `transport_reference_paced` sends.
int transport_reference_paced_per_agent(int agents, int rate, int seconds);

#endif
