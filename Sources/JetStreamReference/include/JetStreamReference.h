#ifndef JETSTREAM_REFERENCE_H
#define JETSTREAM_REFERENCE_H

#include <stdint.h>

/// The broker benchmark's workload driven against NATS JetStream through libnats, the official C client: what
/// `conduit bench broker --peer jetstream` measures Conduit against in the same run. Publishers publish
/// asynchronously with at most `window` unacknowledged messages each (an acknowledgement is JetStream's `PubAck`,
/// sent once the stream has stored the message); subscribers each receive every message through an ephemeral push
/// consumer of the stream (acknowledgement policy none, so that they cost the server no more than Conduit's).

typedef struct {
    /// `nats://127.0.0.1:port`.
    const char *url;
    /// The stream to create (replacing one of that name) and the subject it takes.
    const char *stream;
    const char *subject;
    int publishers;
    int subscribers;
    int64_t messages_per_publisher;
    int window;
    const void *payload;
    int payload_length;
    /// Seconds without progress after which the run gives up.
    int stall_seconds;
} jetstream_reference_workload;

typedef struct {
    /// Messages acknowledged in all, and the seconds from the first publish to the last acknowledgement.
    int64_t acknowledged;
    double acknowledged_seconds;
    /// Messages the slowest subscriber received, and the seconds from the first publish to its last one.
    int64_t delivered;
    double delivered_seconds;
    /// CPU seconds (user and system) this process used during the run: the load generator's own cost.
    double generator_cpu_seconds;
    /// Empty, or what went wrong.
    char error[256];
} jetstream_reference_result;

/// Runs the workload; 0 on success, -1 with `result->error` set otherwise.
int jetstream_reference_run(const jetstream_reference_workload *workload, jetstream_reference_result *result);

#endif
