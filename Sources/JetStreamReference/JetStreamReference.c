#include "JetStreamReference.h"

#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 + (double)usage.ru_stime.tv_sec
        + (double)usage.ru_stime.tv_usec / 1e6;
}

typedef struct {
    atomic_llong received;
    int64_t expected;
    _Atomic double last_at;
} subscriber_state;

typedef struct {
    const jetstream_reference_workload *workload;
    natsConnection *connection;
    jsCtx *js;
    atomic_llong acknowledged;
    atomic_llong failed;
    _Atomic double last_ack_at;
    natsStatus status;
} publisher_state;

static void on_message(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
    (void)nc;
    (void)sub;
    subscriber_state *state = closure;
    long long count = atomic_fetch_add(&state->received, 1) + 1;
    if (count == state->expected) atomic_store(&state->last_at, now_seconds());
    natsMsg_Destroy(msg);
}

static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *ack, jsPubAckErr *error, void *closure) {
    (void)js;
    publisher_state *state = closure;
    if (ack != NULL && error == NULL) {
        atomic_fetch_add(&state->acknowledged, 1);
        atomic_store(&state->last_ack_at, now_seconds());
    } else {
        atomic_fetch_add(&state->failed, 1);
    }
    natsMsg_Destroy(msg);
}

static void *publish(void *argument) {
    publisher_state *state = argument;
    const jetstream_reference_workload *w = state->workload;
    for (int64_t i = 0; i < w->messages_per_publisher; i++) {
        natsStatus s = js_PublishAsync(state->js, w->subject, w->payload, w->payload_length, NULL);
        if (s != NATS_OK) {
            state->status = s;
            return NULL;
        }
    }
    jsPubOptions options;
    jsPubOptions_Init(&options);
    options.MaxWait = (int64_t)w->stall_seconds * 1000;
    state->status = js_PublishAsyncComplete(state->js, &options);
    return NULL;
}

static int fail(jetstream_reference_result *result, const char *what, natsStatus status) {
    snprintf(result->error, sizeof result->error, "%s: %s", what, natsStatus_GetText(status));
    return -1;
}

static natsStatus connect_to(const char *url, natsConnection **connection) {
    natsOptions *options = NULL;
    natsStatus s = natsOptions_Create(&options);
    if (s == NATS_OK) s = natsOptions_SetURL(options, url);
    if (s == NATS_OK) s = natsOptions_SetTimeout(options, 10000);
    if (s == NATS_OK) s = natsConnection_Connect(connection, options);
    natsOptions_Destroy(options);
    return s;
}

int jetstream_reference_run(const jetstream_reference_workload *w, jetstream_reference_result *result) {
    memset(result, 0, sizeof *result);
    if (w->publishers < 1 || w->publishers > 64 || w->subscribers < 0 || w->subscribers > 64 || w->window < 1) {
        snprintf(result->error, sizeof result->error, "publishers 1…64, subscribers 0…64 and a window of at least 1");
        return -1;
    }
    int code = -1;
    natsConnection *admin = NULL;
    jsCtx *adminJS = NULL;
    natsConnection *subscriberConnections[64] = {0};
    jsCtx *subscriberJS[64] = {0};
    natsSubscription *subscriptions[64] = {0};
    subscriber_state subscribers[64];
    publisher_state publishers[64];
    pthread_t threads[64];
    int started = 0;
    memset(publishers, 0, sizeof publishers);

    natsStatus s = connect_to(w->url, &admin);
    if (s != NATS_OK) { code = fail(result, "connect", s); goto done; }
    s = natsConnection_JetStream(&adminJS, admin, NULL);
    if (s != NATS_OK) { code = fail(result, "JetStream context", s); goto done; }
    js_DeleteStream(adminJS, w->stream, NULL, NULL);
    jsStreamConfig config;
    jsStreamConfig_Init(&config);
    config.Name = w->stream;
    const char *subjects[1] = {w->subject};
    config.Subjects = subjects;
    config.SubjectsLen = 1;
    config.Storage = js_FileStorage;
    jsErrCode jsError = 0;
    s = js_AddStream(NULL, adminJS, &config, NULL, &jsError);
    if (s != NATS_OK) { code = fail(result, "add stream", s); goto done; }

    int64_t total = w->messages_per_publisher * w->publishers;
    for (int i = 0; i < w->subscribers; i++) {
        atomic_init(&subscribers[i].received, 0);
        subscribers[i].expected = total;
        atomic_init(&subscribers[i].last_at, 0.0);
        s = connect_to(w->url, &subscriberConnections[i]);
        if (s == NATS_OK) s = natsConnection_JetStream(&subscriberJS[i], subscriberConnections[i], NULL);
        if (s != NATS_OK) { code = fail(result, "subscriber connect", s); goto done; }
        jsSubOptions options;
        jsSubOptions_Init(&options);
        options.Stream = w->stream;
        options.Config.AckPolicy = js_AckNone;
        options.Config.DeliverPolicy = js_DeliverAll;
        s = js_Subscribe(&subscriptions[i], subscriberJS[i], w->subject, on_message, &subscribers[i], NULL, &options, &jsError);
        if (s == NATS_OK) s = natsSubscription_SetPendingLimits(subscriptions[i], -1, -1);
        if (s != NATS_OK) { code = fail(result, "subscribe", s); goto done; }
    }

    for (int i = 0; i < w->publishers; i++) {
        publishers[i].workload = w;
        atomic_init(&publishers[i].acknowledged, 0);
        atomic_init(&publishers[i].failed, 0);
        atomic_init(&publishers[i].last_ack_at, 0.0);
        s = connect_to(w->url, &publishers[i].connection);
        if (s != NATS_OK) { code = fail(result, "publisher connect", s); goto done; }
        jsOptions options;
        jsOptions_Init(&options);
        options.PublishAsync.MaxPending = w->window;
        options.PublishAsync.AckHandler = on_ack;
        options.PublishAsync.AckHandlerClosure = &publishers[i];
        options.PublishAsync.StallWait = (int64_t)w->stall_seconds * 1000;
        options.Wait = (int64_t)w->stall_seconds * 1000;
        s = natsConnection_JetStream(&publishers[i].js, publishers[i].connection, &options);
        if (s != NATS_OK) { code = fail(result, "publisher JetStream context", s); goto done; }
    }

    double cpu0 = cpu_seconds();
    double start = now_seconds();
    for (int i = 0; i < w->publishers; i++) {
        if (pthread_create(&threads[i], NULL, publish, &publishers[i]) != 0) {
            snprintf(result->error, sizeof result->error, "cannot start a publisher thread");
            goto done;
        }
        started++;
    }
    for (int i = 0; i < started; i++) pthread_join(threads[i], NULL);
    started = 0;
    double lastAck = start;
    for (int i = 0; i < w->publishers; i++) {
        if (publishers[i].status != NATS_OK) { code = fail(result, "publish", publishers[i].status); goto done; }
        result->acknowledged += atomic_load(&publishers[i].acknowledged);
        double at = atomic_load(&publishers[i].last_ack_at);
        if (at > lastAck) lastAck = at;
        if (atomic_load(&publishers[i].failed) > 0) {
            snprintf(result->error, sizeof result->error, "%lld publishes were not acknowledged",
                     (long long)atomic_load(&publishers[i].failed));
            goto done;
        }
    }
    result->acknowledged_seconds = lastAck - start;

    // Every subscriber gets every message, or the run stalls.
    result->delivered = w->subscribers > 0 ? total : 0;
    double lastDelivery = start;
    for (int i = 0; i < w->subscribers; i++) {
        long long seen = -1;
        double progressAt = now_seconds();
        while (atomic_load(&subscribers[i].received) < total) {
            long long now = atomic_load(&subscribers[i].received);
            if (now != seen) { seen = now; progressAt = now_seconds(); }
            if (now_seconds() - progressAt > w->stall_seconds) {
                snprintf(result->error, sizeof result->error, "subscriber %d stalled at %lld of %lld messages", i, now,
                         (long long)total);
                goto done;
            }
            usleep(1000);
        }
        double at = atomic_load(&subscribers[i].last_at);
        if (at > lastDelivery) lastDelivery = at;
    }
    result->delivered_seconds = lastDelivery - start;
    result->generator_cpu_seconds = cpu_seconds() - cpu0;
    code = 0;

done:
    for (int i = 0; i < started; i++) pthread_join(threads[i], NULL);
    for (int i = 0; i < 64; i++) {
        if (subscriptions[i]) natsSubscription_Destroy(subscriptions[i]);
        if (subscriberJS[i]) jsCtx_Destroy(subscriberJS[i]);
        if (subscriberConnections[i]) natsConnection_Destroy(subscriberConnections[i]);
        if (publishers[i].js) jsCtx_Destroy(publishers[i].js);
        if (publishers[i].connection) natsConnection_Destroy(publishers[i].connection);
    }
    if (adminJS) {
        js_DeleteStream(adminJS, w->stream, NULL, NULL);
        jsCtx_Destroy(adminJS);
    }
    if (admin) natsConnection_Destroy(admin);
    return code;
}
