#ifndef TRANSPORT_REFERENCE_H
#define TRANSPORT_REFERENCE_H

/// The transport benchmark's loops written directly against libzmq in C: the reference `conduit bench transport`
/// compares the Swift binding with, in the same run. Each returns messages per second, or a negative value on error.

/// PUB→SUB over tcp loopback: `count` messages of a topic frame and a `payload_size`-byte frame; the publisher
/// (with ZMQ_XPUB_NODROP) waits at its high-water mark rather than drop, so every message is delivered.
double transport_reference_pub_sub(int count, int payload_size, const char *topic);

/// DEALER→ROUTER over tcp loopback with one acknowledgement per message and at most `window` unacknowledged.
double transport_reference_dealer_router(int count, int payload_size, const char *topic, int window);

#endif
