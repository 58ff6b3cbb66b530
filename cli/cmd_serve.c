/* cmd_serve.c - `genbo serve`: the live dashboard. A libmicrohttpd server
 * (one internal thread, so requests are served one at a time over one
 * read-only genbo_db) hands out the page and its JSON endpoints;
 * the page polls them and redraws as other processes tell trials.
 *
 *   GET /                      the dashboard page (no inline data)
 *   GET /api/studies           the list of studies
 *   GET /api/study?name=NAME   one study's document
 *   GET /api/study?name=NAME&known=V
 *                              {"unchanged": true} when the database's
 *                              data_version is still V (cheap polling)
 *
 * Errors are JSON too: {"error": "..."} with 400 (bad query), 404 (unknown
 * study or path), 405 (not GET) or 500 (database). The server never
 * writes: the database is a read-only genbo_db. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#ifndef GENBO_HAVE_MHD
int cmd_serve(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "genbo serve: this genbo was built without libmicrohttpd; "
                    "use `genbo report` for a static dashboard\n");
    return 1;
}
#else

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include "cli/dashboard_data.h"
#include "cli/dashboard_page.h"
#include "cli/serve_guard.h"
#include "cli/serve_route.h"

/* Defaults of --max-connections and --timeout: the page polls over one or
 * two keep-alive connections, so 64 leaves room for many tabs. */
#define SERVE_MAX_CONNECTIONS 64u
#define SERVE_TIMEOUT 10.0

typedef struct server {
    genbo_db *db;
    char *page; /* the live page, rendered once */
    size_t page_len;
} server;

/* The help table (help.c): everything on --help, the synopsis on errors. */
static void serve_usage(FILE *f) {
    if (f == stdout) cli_help_print(f, "serve");
    else cli_usage_error("serve");
}

static enum MHD_Result send_buffer(struct MHD_Connection *c, unsigned code, const char *type,
                                   char *body, size_t len, enum MHD_ResponseMemoryMode mode) {
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    if (!r) {
        if (mode == MHD_RESPMEM_MUST_FREE) free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    /* Live data: the browser must ask again every time. */
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls) {
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)con_cls;
    server *s = cls;
    serve_reply r;
    serve_route(s->db, s->page, s->page_len, method, url,
                MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "name"),
                MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "known"), &r);
    return send_buffer(c, r.code, r.type, r.body, r.len, r.must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
}

/* Resolve host:port into a socket address (IPv4 or IPv6). */
static int resolve(const char *host, unsigned port, struct sockaddr_storage *addr, int *ipv6) {
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0 || !res)
        return cli_error(GENBO_EINVAL, "--host '%s': %s", host, gai_strerror(rc));
    memset(addr, 0, sizeof *addr);
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *ipv6 = res->ai_family == AF_INET6;
    if (*ipv6) ((struct sockaddr_in6 *)addr)->sin6_port = htons((uint16_t)port);
    else ((struct sockaddr_in *)addr)->sin_port = htons((uint16_t)port);
    freeaddrinfo(res);
    return GENBO_OK;
}

int cmd_serve(int argc, char **argv) {
    const char *db_path = NULL, *host = "127.0.0.1", *port_s = "8080", *limit_s = NULL, *timeout_s = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            serve_usage(stdout);
            return 0;
        }
        const char **dst = !strcmp(a, "--db")     ? &db_path
                           : !strcmp(a, "--port") ? &port_s
                           : !strcmp(a, "--host") ? &host
                           : !strcmp(a, "--max-connections") ? &limit_s
                           : !strcmp(a, "--timeout") ? &timeout_s
                                                  : NULL;
        if (!dst || i + 1 >= argc) {
            fprintf(stderr, dst ? "genbo serve: %s needs a value\n"
                                : "genbo serve: unknown option '%s'\n", a);
            serve_usage(stderr);
            return 2;
        }
        *dst = argv[++i];
    }
    char *end = NULL;
    long port = strtol(port_s, &end, 10);
    if (!db_path || *end || end == port_s || port < 0 || port > 65535) {
        fprintf(stderr, db_path ? "genbo serve: --port '%s' is not a port number (0-65535)\n"
                                : "genbo serve: --db is required\n", port_s);
        serve_usage(stderr);
        return 2;
    }
    unsigned limit = SERVE_MAX_CONNECTIONS;
    double timeout = SERVE_TIMEOUT;
    if (limit_s) {
        long v = strtol(limit_s, &end, 10);
        if (*end || end == limit_s || v < 1 || v > 10000) {
            fprintf(stderr, "genbo serve: --max-connections '%s' is not a number from 1 to 10000\n", limit_s);
            return 2;
        }
        limit = (unsigned)v;
    }
    if (timeout_s) {
        timeout = strtod(timeout_s, &end);
        if (*end || end == timeout_s || !(timeout >= 0.1 && timeout <= 3600)) {
            fprintf(stderr, "genbo serve: --timeout '%s' is not a number of seconds from 0.1 to 3600\n", timeout_s);
            return 2;
        }
    }
    struct sockaddr_storage addr;
    int ipv6 = 0;
    if (resolve(host, (unsigned)port, &addr, &ipv6) != GENBO_OK) return cli_fail("serve");

    server s = {0};
    if (dashboard_db_open(db_path, &s.db) != GENBO_OK) return cli_fail("serve");
    s.page = dashboard_page_render(NULL, &s.page_len);
    if (!s.page) {
        genbo_db_close(s.db);
        return cli_fail("serve");
    }

    /* Block SIGINT/SIGTERM before the server thread starts (it inherits the
     * mask), then wait for them here: a clean stop, whatever the thread is
     * doing. */
    sigset_t stop_signals, old;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, &old);

    /* epoll (MHD_USE_AUTO): select() stalled past 1,024 descriptors. Still
     * one thread, one request at a time. The guard keeps at most `limit`
     * live connections and a deadline per request; MHD's own limit is a
     * hard cap above it for connections being evicted. */
    serve_guard *guard = serve_guard_start(limit, timeout);
    if (!guard) {
        free(s.page);
        genbo_db_close(s.db);
        fprintf(stderr, "genbo serve: cannot start the connection guard\n");
        return 1;
    }
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | (ipv6 ? MHD_USE_IPv6 : 0);
    struct MHD_Daemon *d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handle, &s,
                                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(timeout + 1),
                                            MHD_OPTION_CONNECTION_LIMIT, 2 * limit + 8,
                                            MHD_OPTION_NOTIFY_CONNECTION, serve_guard_connection, guard,
                                            MHD_OPTION_NOTIFY_COMPLETED, serve_guard_completed, guard,
                                            MHD_OPTION_END);
    int rc = 0;
    if (!d) {
        fprintf(stderr, "genbo serve: cannot listen on %s:%ld (port in use?)\n", host, port);
        rc = 1;
    } else {
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
        unsigned bound = info ? info->port : (unsigned)port;
        printf("genbo serve: http://%s%s%s:%u/  (database %s, read-only; Ctrl-C stops)\n",
               ipv6 ? "[" : "", host, ipv6 ? "]" : "", bound, db_path);
        fflush(stdout);
        int sig = 0;
        sigwait(&stop_signals, &sig);
        MHD_stop_daemon(d);
        fprintf(stderr, "genbo serve: stopped (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    }
    serve_guard_stop(guard);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    free(s.page);
    genbo_db_close(s.db);
    return rc;
}
#endif
