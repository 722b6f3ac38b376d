// The transport benchmark's reference loops, in C against libzmq: what the Swift binding is measured against.
#include "TransportReference.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct peer_args {
    void *context;
    void *socket;
    char endpoint[256];
    int count;
    int ok;
    double finished;
};

static void *subscriber_main(void *raw) {
    struct peer_args *args = raw;
    void *sub = zmq_socket(args->context, ZMQ_SUB);
    int linger = 0;
    zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
    zmq_connect(sub, args->endpoint);
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    int ok = 1;
    for (int i = 0; i < args->count && ok; i++) {
        do {
            if (zmq_msg_recv(&msg, sub, 0) < 0) { ok = 0; break; }
        } while (zmq_msg_more(&msg));
    }
    args->finished = now_seconds();
    args->ok = ok;
    zmq_msg_close(&msg);
    zmq_close(sub);
    return NULL;
}

double transport_reference_pub_sub(int count, int payload_size, const char *topic) {
    void *context = zmq_ctx_new();
    void *pub = zmq_socket(context, ZMQ_XPUB);
    int one = 1, linger = 0;
    zmq_setsockopt(pub, ZMQ_XPUB_NODROP, &one, sizeof one);
    zmq_setsockopt(pub, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(pub, "tcp://127.0.0.1:*") != 0) return -1;
    struct peer_args args = {.context = context, .count = count};
    size_t size = sizeof args.endpoint;
    zmq_getsockopt(pub, ZMQ_LAST_ENDPOINT, args.endpoint, &size);
    pthread_t thread;
    pthread_create(&thread, NULL, subscriber_main, &args);
    // Wait for the subscription so nothing is sent before the subscriber is there.
    char subscription[256];
    if (zmq_recv(pub, subscription, sizeof subscription, 0) < 0) return -1;

    char *payload = calloc(1, (size_t)payload_size);
    size_t topic_size = strlen(topic);
    double started = now_seconds();
    for (int i = 0; i < count; i++) {
        memcpy(payload, &i, sizeof i);
        if (zmq_send(pub, topic, topic_size, ZMQ_SNDMORE) < 0) break;
        if (zmq_send(pub, payload, (size_t)payload_size, 0) < 0) break;
    }
    pthread_join(thread, NULL);
    double elapsed = args.finished - started;
    free(payload);
    zmq_close(pub);
    zmq_ctx_term(context);
    return args.ok ? count / elapsed : -1;
}

static void *router_main(void *raw) {
    struct peer_args *args = raw;
    void *router = args->socket;  // bound by the starting thread; handed over here (pthread_create is a barrier)
    zmq_msg_t id, part;
    zmq_msg_init(&id);
    zmq_msg_init(&part);
    int ok = 1;
    uint64_t sequence = 0;
    for (int i = 0; i < args->count && ok; i++) {
        if (zmq_msg_recv(&id, router, 0) < 0) { ok = 0; break; }
        do {
            if (zmq_msg_recv(&part, router, 0) < 0) { ok = 0; break; }
        } while (zmq_msg_more(&part));
        sequence++;
        if (zmq_msg_send(&id, router, ZMQ_SNDMORE) < 0 || zmq_send(router, &sequence, sizeof sequence, 0) < 0) ok = 0;
    }
    args->ok = ok;
    zmq_msg_close(&id);
    zmq_msg_close(&part);
    zmq_close(router);
    return NULL;
}

double transport_reference_dealer_router(int count, int payload_size, const char *topic, int window) {
    void *context = zmq_ctx_new();
    void *router = zmq_socket(context, ZMQ_ROUTER);
    int linger = 0;
    zmq_setsockopt(router, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(router, "tcp://127.0.0.1:*") != 0) return -1;
    struct peer_args args = {.context = context, .socket = router, .count = count};
    size_t size = sizeof args.endpoint;
    zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, args.endpoint, &size);
    pthread_t thread;
    pthread_create(&thread, NULL, router_main, &args);

    void *dealer = zmq_socket(context, ZMQ_DEALER);
    zmq_setsockopt(dealer, ZMQ_LINGER, &linger, sizeof linger);
    zmq_connect(dealer, args.endpoint);
    char *payload = calloc(1, (size_t)payload_size);
    size_t topic_size = strlen(topic);
    zmq_msg_t ack;
    zmq_msg_init(&ack);
    int sent = 0, acknowledged = 0;
    double started = now_seconds();
    while (acknowledged < count) {
        while (sent < count && sent - acknowledged < window) {
            memcpy(payload, &sent, sizeof sent);
            zmq_send(dealer, topic, topic_size, ZMQ_SNDMORE);
            zmq_send(dealer, payload, (size_t)payload_size, 0);
            sent++;
        }
        if (zmq_msg_recv(&ack, dealer, 0) < 0) break;
        acknowledged++;
        while (zmq_msg_recv(&ack, dealer, ZMQ_DONTWAIT) >= 0) acknowledged++;
    }
    double elapsed = now_seconds() - started;
    pthread_join(thread, NULL);
    free(payload);
    zmq_msg_close(&ack);
    zmq_close(dealer);
    zmq_ctx_term(context);
    return acknowledged == count && args.ok ? count / elapsed : -1;
}
