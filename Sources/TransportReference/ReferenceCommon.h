// What the two reference loops share; private to this target.
#ifndef TRANSPORT_REFERENCE_COMMON_H
#define TRANSPORT_REFERENCE_COMMON_H

#include "TransportReference.h"

#include <stdint.h>
#include <time.h>
#include <zmq.h>

/// Microseconds on the monotonic clock.
static inline int64_t monotonic_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/// Linger 0 and every blocking send and receive bounded by TRANSPORT_REFERENCE_STALL_MS.
static inline void bound(void *socket) {
    int linger = 0, stall = TRANSPORT_REFERENCE_STALL_MS;
    zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(socket, ZMQ_RCVTIMEO, &stall, sizeof stall);
    zmq_setsockopt(socket, ZMQ_SNDTIMEO, &stall, sizeof stall);
}

#endif
