/* serve_guard.c - see serve_guard.h. A table of the live connections (their
 * socket, when their current request started) and a watchdog thread: a
 * connection past its deadline, or evicted, gets shutdown(2) on its
 * socket, so MHD's own thread sees the end of the stream and closes it
 * cleanly (the socket is never closed behind MHD's back: MHD reports
 * NOTIFY_CLOSED, under our lock, before it closes the descriptor). */
#ifdef GENBO_HAVE_MHD
#include "cli/serve_guard.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

typedef struct slot {
    int fd;
    int used, shut;
    double since; /* start of the connection or end of its last request */
} slot;

struct serve_guard {
    pthread_mutex_t mu;
    pthread_t thread;
    int stop;
    unsigned limit, cap, live; /* live: used and not shut */
    double deadline;
    slot *slots;
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void shut(serve_guard *g, slot *s) {
    shutdown(s->fd, SHUT_RDWR);
    s->shut = 1;
    g->live--;
}

static void *watchdog(void *arg) {
    serve_guard *g = arg;
    struct timespec tick = {0, 100 * 1000 * 1000};
    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        pthread_mutex_unlock(&g->mu);
        nanosleep(&tick, NULL);
        pthread_mutex_lock(&g->mu);
        double t = now_s();
        for (unsigned i = 0; i < g->cap; i++)
            if (g->slots[i].used && !g->slots[i].shut && t - g->slots[i].since > g->deadline) shut(g, &g->slots[i]);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

serve_guard *serve_guard_start(unsigned limit, double deadline_seconds) {
    serve_guard *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->limit = limit;
    g->cap = 2 * limit + 16; /* evicted connections linger until MHD closes them */
    g->deadline = deadline_seconds;
    g->slots = calloc(g->cap, sizeof *g->slots);
    if (!g->slots || pthread_mutex_init(&g->mu, NULL) != 0) {
        free(g->slots);
        free(g);
        return NULL;
    }
    if (pthread_create(&g->thread, NULL, watchdog, g) != 0) {
        pthread_mutex_destroy(&g->mu);
        free(g->slots);
        free(g);
        return NULL;
    }
    return g;
}

void serve_guard_stop(serve_guard *g) {
    if (!g) return;
    pthread_mutex_lock(&g->mu);
    g->stop = 1;
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->thread, NULL);
    pthread_mutex_destroy(&g->mu);
    free(g->slots);
    free(g);
}

void serve_guard_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                            enum MHD_ConnectionNotificationCode toe) {
    serve_guard *g = cls;
    pthread_mutex_lock(&g->mu);
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        slot *s = NULL;
        for (unsigned i = 0; info && i < g->cap && !s; i++)
            if (!g->slots[i].used) s = &g->slots[i];
        *socket_context = s;
        if (!s) {
            /* the table is full of evicted connections MHD has not closed
             * yet: refuse this one (it cannot be tracked) */
            if (info) shutdown(info->connect_fd, SHUT_RDWR);
        } else {
            s->fd = info->connect_fd;
            s->used = 1;
            s->shut = 0;
            s->since = now_s();
            g->live++;
            /* over the limit: evict the connection longest without a
             * completed request (a fresh client always gets in) */
            while (g->live > g->limit) {
                slot *old = NULL;
                for (unsigned i = 0; i < g->cap; i++)
                    if (g->slots[i].used && !g->slots[i].shut && &g->slots[i] != s &&
                        (!old || g->slots[i].since < old->since))
                        old = &g->slots[i];
                if (!old) break;
                shut(g, old);
            }
        }
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        slot *s = *socket_context;
        if (s) {
            if (!s->shut) g->live--;
            s->used = 0;
            *socket_context = NULL;
        }
    }
    pthread_mutex_unlock(&g->mu);
}

void serve_guard_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                           enum MHD_RequestTerminationCode toe) {
    (void)con_cls;
    (void)toe;
    serve_guard *g = cls;
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    pthread_mutex_lock(&g->mu);
    slot *s = info ? (slot *)info->socket_context : NULL;
    if (s && s->used) s->since = now_s(); /* the next request's clock starts now */
    pthread_mutex_unlock(&g->mu);
}
#endif
