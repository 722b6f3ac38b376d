// The transport benchmark's reference loops, in C against libzmq: what the Swift binding is measured against.
#include "ReferenceCommon.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

static double now_seconds(void) { return (double)monotonic_us() / 1e6; }

/// What a failed call means: a bounded wait that ran out, or another error.
static double failure(void) { return errno == EAGAIN ? TRANSPORT_REFERENCE_STALLED : TRANSPORT_REFERENCE_FAILED; }

struct peer_args {
    void *context;
    void *socket;
    char endpoint[256];
    int count;
    double result;  // 0 on success, else a TRANSPORT_REFERENCE_* failure
    double finished;
};

static void *subscriber_main(void *raw) {
    struct peer_args *args = raw;
    void *sub = zmq_socket(args->context, ZMQ_SUB);
    bound(sub);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
    zmq_connect(sub, args->endpoint);
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    args->result = 0;
    for (int i = 0; i < args->count && args->result == 0; i++) {
        do {
            if (zmq_msg_recv(&msg, sub, 0) < 0) { args->result = failure(); break; }
        } while (zmq_msg_more(&msg));
    }
    args->finished = now_seconds();
    zmq_msg_close(&msg);
    zmq_close(sub);
    return NULL;
}

double transport_reference_pub_sub(int count, int payload_size, const char *topic) {
    void *context = zmq_ctx_new();
    void *pub = zmq_socket(context, ZMQ_XPUB);
    int one = 1;
    zmq_setsockopt(pub, ZMQ_XPUB_NODROP, &one, sizeof one);
    bound(pub);
    if (zmq_bind(pub, "tcp://127.0.0.1:*") != 0) {
        zmq_close(pub);
        zmq_ctx_term(context);
        return TRANSPORT_REFERENCE_FAILED;
    }
    struct peer_args args = {.context = context, .count = count};
    size_t size = sizeof args.endpoint;
    zmq_getsockopt(pub, ZMQ_LAST_ENDPOINT, args.endpoint, &size);
    pthread_t thread;
    pthread_create(&thread, NULL, subscriber_main, &args);
    // Wait for the subscription so nothing is sent before the subscriber is there.
    char subscription[256];
    double published = 0;
    if (zmq_recv(pub, subscription, sizeof subscription, 0) < 0) published = failure();
    char *payload = calloc(1, (size_t)payload_size);
    size_t topic_size = strlen(topic);
    double started = now_seconds();
    for (int i = 0; i < count && published == 0; i++) {
        memcpy(payload, &i, sizeof i);
        if (zmq_send(pub, topic, topic_size, ZMQ_SNDMORE) < 0 || zmq_send(pub, payload, (size_t)payload_size, 0) < 0)
            published = failure();
    }
    pthread_join(thread, NULL);  // the subscriber's receives are bounded too
    double elapsed = args.finished - started;
    free(payload);
    zmq_close(pub);
    zmq_ctx_term(context);
    if (published != 0) return published;
    return args.result == 0 ? count / elapsed : args.result;
}

static void *router_main(void *raw) {
    struct peer_args *args = raw;
    void *router = args->socket;  // bound by the starting thread; handed over here (pthread_create is a barrier)
    zmq_msg_t id, part;
    zmq_msg_init(&id);
    zmq_msg_init(&part);
    args->result = 0;
    uint64_t sequence = 0;
    for (int i = 0; i < args->count && args->result == 0; i++) {
        if (zmq_msg_recv(&id, router, 0) < 0) { args->result = failure(); break; }
        do {
            if (zmq_msg_recv(&part, router, 0) < 0) { args->result = failure(); break; }
        } while (zmq_msg_more(&part));
        if (args->result != 0) break;
        sequence++;
        if (zmq_msg_send(&id, router, ZMQ_SNDMORE) < 0 || zmq_send(router, &sequence, sizeof sequence, 0) < 0)
            args->result = failure();
    }
    zmq_msg_close(&id);
    zmq_msg_close(&part);
    // The socket is not closed here: acknowledgements may still be queued; the starting thread closes it after join.
    return NULL;
}

double transport_reference_dealer_router(int count, int payload_size, const char *topic, int window) {
    void *context = zmq_ctx_new();
    void *router = zmq_socket(context, ZMQ_ROUTER);
    bound(router);
    if (zmq_bind(router, "tcp://127.0.0.1:*") != 0) {
        zmq_close(router);
        zmq_ctx_term(context);
        return TRANSPORT_REFERENCE_FAILED;
    }
    struct peer_args args = {.context = context, .socket = router, .count = count};
    size_t size = sizeof args.endpoint;
    zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, args.endpoint, &size);
    pthread_t thread;
    pthread_create(&thread, NULL, router_main, &args);

    void *dealer = zmq_socket(context, ZMQ_DEALER);
    bound(dealer);
    zmq_connect(dealer, args.endpoint);
    char *payload = calloc(1, (size_t)payload_size);
    size_t topic_size = strlen(topic);
    zmq_msg_t ack;
    zmq_msg_init(&ack);
    int sent = 0, acknowledged = 0;
    double published = 0;
    double started = now_seconds();
    while (acknowledged < count && published == 0) {
        while (sent < count && sent - acknowledged < window) {
            memcpy(payload, &sent, sizeof sent);
            if (zmq_send(dealer, topic, topic_size, ZMQ_SNDMORE) < 0
                || zmq_send(dealer, payload, (size_t)payload_size, 0) < 0) {
                published = failure();
                break;
            }
            sent++;
        }
        if (published != 0) break;
        if (zmq_msg_recv(&ack, dealer, 0) < 0) { published = failure(); break; }
        acknowledged++;
        while (zmq_msg_recv(&ack, dealer, ZMQ_DONTWAIT) >= 0) acknowledged++;
    }
    double elapsed = now_seconds() - started;
    pthread_join(thread, NULL);  // the router's receives are bounded too
    free(payload);
    zmq_msg_close(&ack);
    zmq_close(dealer);
    zmq_close(router);
    zmq_ctx_term(context);
    if (published != 0) return published;
    return args.result == 0 ? count / elapsed : args.result;
}
