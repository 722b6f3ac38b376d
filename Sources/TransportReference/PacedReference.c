// The paced phase's reference: the least a broker can do for the same promise, in C against libzmq, so that the
// paced latencies of `conduit bench broker` can be read against what this machine gives such a loop.
#define _GNU_SOURCE  // memmem
#include "ReferenceCommon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define PACED_BATCH_MAX 1024
#define PACED_HEADER 16
static const char paced_signature[] = "CONDUIT/1";
static const char paced_topic[] = "progress/power/ganjiaba/";

static void put64(unsigned char *to, uint64_t value) {
    for (int i = 7; i >= 0; i--) { to[i] = (unsigned char)value; value >>= 8; }
}

static uint64_t get64(const unsigned char *from) {
    uint64_t value = 0;
    for (int i = 0; i < 8; i++) value = value << 8 | from[i];
    return value;
}

/// As the Swift `Poller` does: a wait shorter than a millisecond waits one, so that a loop never spins.
static long poll_ms(int64_t microseconds) {
    if (microseconds <= 0) return 0;
    return (long)((microseconds + 999) / 1000);
}

struct paced_shared {
    void *broker_context, *client_context;
    void *router, *xpub;
    char ingest[256], fanout[256];
    int journal;
    atomic_int subscriptions;
    atomic_int stop;
    atomic_int agents_done;  // every agent has all its acknowledgements
    atomic_int failed;  // a TRANSPORT_REFERENCE_* failure, or 0
    int agents, subscribers, per_agent, payload_size;
    // Driving a Conduit broker (ingest and fanout given) rather than the loop above.
    int conduit;
    const char *const *prefixes, *const *suffixes;
    int64_t start, interval;
    int64_t *ack_us;       // agents * per_agent
    int64_t *ack_sent_us;  // when each acknowledged event was sent, or NULL
    int64_t *delivery_us;  // subscribers * agents * per_agent
    atomic_long ack_count;
    atomic_long delivery_count;
};

static void fail(struct paced_shared *shared) {
    int expected = 0;
    atomic_compare_exchange_strong(&shared->failed, &expected, errno == EAGAIN ? -2 : -1);
}

/// The broker: every request waiting is taken in one turn, written with its 16-byte header in one `pwrite`, synced
/// with one `fdatasync`, then published (topic, signature, header, event); the turn's events are acknowledged in one
/// `ACKS` a peer.
static void *paced_broker_main(void *raw) {
    struct paced_shared *shared = raw;
    zmq_msg_t ids[PACED_BATCH_MAX], bodies[PACED_BATCH_MAX];
    for (int i = 0; i < PACED_BATCH_MAX; i++) { zmq_msg_init(&ids[i]); zmq_msg_init(&bodies[i]); }
    zmq_msg_t part;
    zmq_msg_init(&part);
    unsigned char acks[16 * PACED_BATCH_MAX];
    char acked[PACED_BATCH_MAX];
    memset(acked, 0, sizeof acked);
    size_t capacity = 1 << 20;
    unsigned char *buffer = malloc(capacity);
    uint64_t sequence = 0;
    off_t offset = 0;
    zmq_pollitem_t items[2] = {{shared->router, 0, ZMQ_POLLIN, 0}, {shared->xpub, 0, ZMQ_POLLIN, 0}};
    while (!atomic_load(&shared->stop) && !atomic_load(&shared->failed)) {
        if (zmq_poll(items, 2, 100) < 0) { fail(shared); break; }
        if (items[1].revents & ZMQ_POLLIN) {
            char subscription[256];
            while (zmq_recv(shared->xpub, subscription, sizeof subscription, ZMQ_DONTWAIT) > 0)
                if (subscription[0] == 1) atomic_fetch_add(&shared->subscriptions, 1);
        }
        if (!(items[0].revents & ZMQ_POLLIN)) continue;
        int count = 0;
        size_t used = 0;
        // [identity][signature][command][body]: only the body is kept.
        while (count < PACED_BATCH_MAX && zmq_msg_recv(&ids[count], shared->router, ZMQ_DONTWAIT) >= 0) {
            if (!zmq_msg_more(&ids[count]) || zmq_msg_recv(&part, shared->router, 0) < 0 || !zmq_msg_more(&part)
                || zmq_msg_recv(&part, shared->router, 0) < 0 || !zmq_msg_more(&part)
                || zmq_msg_recv(&bodies[count], shared->router, 0) < 0 || zmq_msg_more(&bodies[count])
                || zmq_msg_size(&bodies[count]) < 16) {
                errno = EPROTO;
                fail(shared);
                break;
            }
            size_t size = zmq_msg_size(&bodies[count]);
            if (used + PACED_HEADER + size > capacity) {
                capacity = (used + PACED_HEADER + size) * 2;
                buffer = realloc(buffer, capacity);
            }
            put64(buffer + used, sequence + (uint64_t)count + 1);
            put64(buffer + used + 8, (uint64_t)monotonic_us());
            memcpy(buffer + used + PACED_HEADER, zmq_msg_data(&bodies[count]), size);
            used += PACED_HEADER + size;
            count++;
        }
        if (count == 0) continue;
        size_t written = 0;
        while (written < used) {
            ssize_t n = pwrite(shared->journal, buffer + written, used - written, offset + (off_t)written);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) { fail(shared); break; }
            written += (size_t)n;
        }
        if (fdatasync(shared->journal) != 0) fail(shared);
        offset += (off_t)used;
        size_t at = 0;
        uint64_t first = sequence + 1;
        for (int i = 0; i < count; i++) {
            size_t size = zmq_msg_size(&bodies[i]);
            sequence++;
            if (zmq_send(shared->xpub, paced_topic, sizeof paced_topic - 1, ZMQ_SNDMORE) < 0
                || zmq_send(shared->xpub, paced_signature, sizeof paced_signature - 1, ZMQ_SNDMORE) < 0
                || zmq_send(shared->xpub, buffer + at, PACED_HEADER, ZMQ_SNDMORE) < 0
                || zmq_send(shared->xpub, buffer + at + PACED_HEADER, size, 0) < 0)
                fail(shared);
            at += PACED_HEADER + size;
        }
        // One ACKS a peer for the turn, [identity][signature][ACKS][number, sequence per event], as Conduit's broker
        // acknowledges a commit.
        for (int i = 0; i < count; i++) {
            if (acked[i]) continue;
            size_t entries = 0;
            for (int j = i; j < count; j++) {
                if (acked[j] || zmq_msg_size(&ids[j]) != zmq_msg_size(&ids[i])
                    || memcmp(zmq_msg_data(&ids[j]), zmq_msg_data(&ids[i]), zmq_msg_size(&ids[i])) != 0)
                    continue;
                memcpy(acks + 16 * entries, zmq_msg_data(&bodies[j]), 8);
                put64(acks + 16 * entries + 8, first + (uint64_t)j);
                entries++;
                acked[j] = 1;
            }
            if (zmq_msg_send(&ids[i], shared->router, ZMQ_SNDMORE) < 0
                || zmq_send(shared->router, paced_signature, sizeof paced_signature - 1, ZMQ_SNDMORE) < 0
                || zmq_send(shared->router, "ACKS", 4, ZMQ_SNDMORE) < 0 || zmq_send(shared->router, acks, 16 * entries, 0) < 0)
                fail(shared);
        }
        memset(acked, 0, sizeof acked);
    }
    for (int i = 0; i < PACED_BATCH_MAX; i++) { zmq_msg_close(&ids[i]); zmq_msg_close(&bodies[i]); }
    zmq_msg_close(&part);
    free(buffer);
    return NULL;
}

struct paced_agent {
    struct paced_shared *shared;
    int index;
};

/// An agent: event n is due `interval` × n after the start; every event due is sent (one `BATCH` each) before
/// waiting for acknowledgements until the next is due.
static void *paced_agent_main(void *raw) {
    struct paced_agent *agent = raw;
    struct paced_shared *shared = agent->shared;
    void *dealer = zmq_socket(shared->client_context, ZMQ_DEALER);
    bound(dealer);
    zmq_connect(dealer, shared->ingest);
    int total = shared->per_agent;
    int64_t *sent_at = calloc((size_t)total, sizeof *sent_at);
    unsigned char *body = calloc(1, (size_t)shared->payload_size);
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    int sent = 0, acknowledged = 0;
    while (monotonic_us() < shared->start) usleep(100);
    zmq_pollitem_t item = {dealer, 0, ZMQ_POLLIN, 0};
    while (acknowledged < total && !atomic_load(&shared->failed)) {
        int64_t now = monotonic_us();
        while (sent < total && shared->start + shared->interval * sent <= now) {
            size_t length = (size_t)shared->payload_size;
            if (shared->conduit) {
                // One event in a BATCH body: [number: 8][length: 4][event JSON], the id ending in "<number>-<µs sent>".
                int written = snprintf(
                    (char *)body + 12, (size_t)shared->payload_size - 12, "%s%d-%lld%s", shared->prefixes[agent->index], sent,
                    (long long)now, shared->suffixes[agent->index]);
                if (written < 0 || written >= shared->payload_size - 12) { errno = EOVERFLOW; fail(shared); break; }
                put64(body, (uint64_t)sent);
                for (int i = 0; i < 4; i++) body[8 + i] = (unsigned char)((uint32_t)written >> (24 - 8 * i));
                length = 12 + (size_t)written;
            } else {
                put64(body, (uint64_t)sent);
                put64(body + 8, (uint64_t)now);
            }
            sent_at[sent] = now;
            if (zmq_send(dealer, paced_signature, sizeof paced_signature - 1, ZMQ_SNDMORE) < 0
                || zmq_send(dealer, "BATCH", 5, ZMQ_SNDMORE) < 0 || zmq_send(dealer, body, length, 0) < 0) {
                fail(shared);
                break;
            }
            sent++;
            now = monotonic_us();
        }
        long timeout = sent < total ? poll_ms(shared->start + shared->interval * sent - monotonic_us()) : TRANSPORT_REFERENCE_STALL_MS;
        int ready = zmq_poll(&item, 1, timeout);
        if (ready < 0) { fail(shared); break; }
        if (ready == 0) {
            if (sent == total) { errno = EAGAIN; fail(shared); break; }
            continue;
        }
        // [signature][ACKS][an entry per event: its number first]: entries of 16 bytes from the loop above, of 17
        // from a Conduit broker (number, sequence, status).
        size_t entry = shared->conduit ? 17 : 16;
        while (zmq_msg_recv(&frame, dealer, ZMQ_DONTWAIT) >= 0) {
            int index = 0, acks = 1;
            while (zmq_msg_more(&frame)) {
                if (zmq_msg_recv(&frame, dealer, 0) < 0) { fail(shared); break; }
                index++;
                if (index == 1) acks = zmq_msg_size(&frame) == 4 && memcmp(zmq_msg_data(&frame), "ACKS", 4) == 0;
            }
            size_t size = zmq_msg_size(&frame);
            if (index != 2 || !acks || size == 0 || size % entry != 0) { errno = EPROTO; fail(shared); break; }
            int64_t received = monotonic_us();
            for (size_t at = 0; at < size; at += entry) {
                uint64_t number = get64((unsigned char *)zmq_msg_data(&frame) + at);
                if (number >= (uint64_t)total) { errno = EPROTO; fail(shared); break; }
                long slot = atomic_fetch_add(&shared->ack_count, 1);
                shared->ack_us[slot] = received - sent_at[number];
                if (shared->ack_sent_us) shared->ack_sent_us[slot] = sent_at[number];
                acknowledged++;
            }
        }
    }
    zmq_msg_close(&frame);
    zmq_close(dealer);
    free(sent_at);
    free(body);
    return NULL;
}

/// A subscriber of every event: the delivery latency is the time since the agent sent it (in the event's bytes).
static void *paced_subscriber_main(void *raw) {
    struct paced_shared *shared = raw;
    void *sub = zmq_socket(shared->client_context, ZMQ_SUB);
    bound(sub);
    int high_water_mark = 100000;
    zmq_setsockopt(sub, ZMQ_RCVHWM, &high_water_mark, sizeof high_water_mark);
    if (shared->conduit) {
        zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "progress/", 9);
        zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "_heartbeat/", 11);
    } else {
        zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
    }
    zmq_connect(sub, shared->fanout);
    long expected = (long)shared->agents * shared->per_agent;
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    int ready = !shared->conduit;  // a Conduit subscriber is in place once the broker's heartbeat reaches it
    zmq_pollitem_t item = {sub, 0, ZMQ_POLLIN, 0};
    int64_t last = monotonic_us();
    for (long received = 0; received < expected && !atomic_load(&shared->failed);) {
        // A Conduit broker drops what a subscriber cannot take at its high-water mark (the subscriber would replay
        // it): once the agents are done, a second without an event ends the wait.
        int waiting = zmq_poll(&item, 1, 100);
        if (waiting < 0) { fail(shared); break; }
        if (waiting == 0) {
            if (atomic_load(&shared->agents_done) && monotonic_us() - last > 1000000) break;
            if (monotonic_us() - last > TRANSPORT_REFERENCE_STALL_MS * 1000LL) { errno = EAGAIN; fail(shared); break; }
            continue;
        }
        last = monotonic_us();
        int index = 0;
        while (1) {
            if (zmq_msg_recv(&frame, sub, 0) < 0) { fail(shared); break; }
            if (!zmq_msg_more(&frame)) break;
            index++;
        }
        if (atomic_load(&shared->failed)) break;
        if (shared->conduit && index == 2) {  // [topic][signature][header]: a heartbeat
            if (!ready) { ready = 1; atomic_fetch_add(&shared->subscriptions, 1); }
            continue;
        }
        if (index != 3 || zmq_msg_size(&frame) < 16) { errno = EPROTO; fail(shared); break; }
        int64_t sent;
        if (shared->conduit) {
            // The event's id is "b<agent>-<number>-<µs sent>".
            const char *json = zmq_msg_data(&frame);
            size_t size = zmq_msg_size(&frame);
            const char *id = memmem(json, size, "\"id\":\"b", 7);
            if (!id) { errno = EPROTO; fail(shared); break; }
            const char *at = id + 7, *end = json + size;
            for (int dashes = 0; at < end && dashes < 2; at++) if (*at == '-') dashes++;
            sent = 0;
            while (at < end && *at >= '0' && *at <= '9') sent = sent * 10 + (*at++ - '0');
        } else {
            sent = (int64_t)get64((unsigned char *)zmq_msg_data(&frame) + 8);
        }
        long slot = atomic_fetch_add(&shared->delivery_count, 1);
        shared->delivery_us[slot] = monotonic_us() - sent;
        received++;
    }
    zmq_msg_close(&frame);
    zmq_close(sub);
    return NULL;
}

double transport_reference_paced(
    const struct transport_reference_paced_workload *workload, int64_t *ack_us, int64_t *ack_sent_us, long *ack_count,
    int64_t *delivery_us, long *delivery_count) {
    *ack_count = 0;
    *delivery_count = 0;
    int agents = workload->agents, subscribers = workload->subscribers;
    int conduit = workload->ingest != NULL;
    if (agents < 1 || subscribers < 0 || workload->rate < 1 || workload->seconds < 1 || workload->payload_size < 16
        || (conduit && (!workload->fanout || !workload->event_prefixes || !workload->event_suffixes))
        || (!conduit && !workload->journal_path))
        return TRANSPORT_REFERENCE_FAILED;
    struct paced_shared shared;
    memset(&shared, 0, sizeof shared);
    shared.agents = agents;
    shared.subscribers = subscribers;
    shared.per_agent = transport_reference_paced_per_agent(agents, workload->rate, workload->seconds);
    shared.payload_size = workload->payload_size;
    shared.interval = (int64_t)1000000 * agents / workload->rate;
    shared.ack_us = ack_us;
    shared.ack_sent_us = ack_sent_us;
    shared.delivery_us = delivery_us;
    shared.conduit = conduit;
    shared.prefixes = workload->event_prefixes;
    shared.suffixes = workload->event_suffixes;
    shared.journal = -1;
    shared.client_context = zmq_ctx_new();
    double result = 0;
    pthread_t broker;
    int broker_started = 0;
    if (conduit) {
        snprintf(shared.ingest, sizeof shared.ingest, "%s", workload->ingest);
        snprintf(shared.fanout, sizeof shared.fanout, "%s", workload->fanout);
    } else {
        shared.journal = open(workload->journal_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        shared.broker_context = zmq_ctx_new();
        shared.router = zmq_socket(shared.broker_context, ZMQ_ROUTER);
        shared.xpub = zmq_socket(shared.broker_context, ZMQ_XPUB);
        bound(shared.router);
        bound(shared.xpub);
        int verbose = 1;  // every subscription comes up, not only the first of each topic: the start waits for them all
        zmq_setsockopt(shared.xpub, ZMQ_XPUB_VERBOSE, &verbose, sizeof verbose);
        // Nothing dropped at a high-water mark: an acknowledgement or event a peer never gets would stall the run.
        int unlimited = 0;
        zmq_setsockopt(shared.xpub, ZMQ_SNDHWM, &unlimited, sizeof unlimited);
        zmq_setsockopt(shared.router, ZMQ_SNDHWM, &unlimited, sizeof unlimited);
        if (shared.journal < 0 || zmq_bind(shared.router, "tcp://127.0.0.1:*") != 0
            || zmq_bind(shared.xpub, "tcp://127.0.0.1:*") != 0) {
            result = TRANSPORT_REFERENCE_FAILED;
        } else {
            size_t size = sizeof shared.ingest;
            zmq_getsockopt(shared.router, ZMQ_LAST_ENDPOINT, shared.ingest, &size);
            size = sizeof shared.fanout;
            zmq_getsockopt(shared.xpub, ZMQ_LAST_ENDPOINT, shared.fanout, &size);
            pthread_create(&broker, NULL, paced_broker_main, &shared);
            broker_started = 1;
        }
    }
    if (result == 0) {
        pthread_t *subscriber_threads = calloc((size_t)subscribers + 1, sizeof *subscriber_threads);
        for (int i = 0; i < subscribers; i++) pthread_create(&subscriber_threads[i], NULL, paced_subscriber_main, &shared);
        // Every subscription in place before the first event.
        int64_t waited = monotonic_us();
        while (atomic_load(&shared.subscriptions) < subscribers && !atomic_load(&shared.failed)
               && monotonic_us() - waited < TRANSPORT_REFERENCE_STALL_MS * 1000LL)
            usleep(1000);
        if (atomic_load(&shared.subscriptions) < subscribers) { errno = EAGAIN; fail(&shared); }
        shared.start = monotonic_us() + 10000;
        pthread_t *agent_threads = calloc((size_t)agents, sizeof *agent_threads);
        struct paced_agent *agent_args = calloc((size_t)agents, sizeof *agent_args);
        for (int i = 0; i < agents; i++) {
            agent_args[i] = (struct paced_agent){.shared = &shared, .index = i};
            pthread_create(&agent_threads[i], NULL, paced_agent_main, &agent_args[i]);
        }
        for (int i = 0; i < agents; i++) pthread_join(agent_threads[i], NULL);
        atomic_store(&shared.agents_done, 1);
        for (int i = 0; i < subscribers; i++) pthread_join(subscriber_threads[i], NULL);
        free(agent_threads);
        free(agent_args);
        free(subscriber_threads);
        result = atomic_load(&shared.failed);
    }
    atomic_store(&shared.stop, 1);
    if (broker_started) pthread_join(broker, NULL);
    if (!conduit) {
        zmq_close(shared.router);
        zmq_close(shared.xpub);
        zmq_ctx_term(shared.broker_context);
        if (shared.journal >= 0) close(shared.journal);
        unlink(workload->journal_path);
    }
    zmq_ctx_term(shared.client_context);
    *ack_count = atomic_load(&shared.ack_count);
    *delivery_count = atomic_load(&shared.delivery_count);
    return result;
}

int transport_reference_paced_per_agent(int agents, int rate, int seconds) {
    long per_agent = (long)rate * seconds / agents;
    return per_agent < 1 ? 1 : (int)per_agent;
}
