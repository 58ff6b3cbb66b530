/* serve_route.h - the dashboard server's request router without the HTTP
 * library: a method, a path and the query's decoded `name` and `known`
 * values in, a status, a content type and a body out. cmd_serve.c feeds it
 * from libmicrohttpd; tests/fuzz/fuzz_router.c feeds it arbitrary bytes. */
#ifndef GENBO_CLI_SERVE_ROUTE_H
#define GENBO_CLI_SERVE_ROUTE_H

#include <stddef.h>

#include "genbo.h"

typedef struct serve_reply {
    unsigned code;
    const char *type;
    char *body;     /* malloc'ed when must_free, else the caller's page */
    size_t len;
    int must_free;
} serve_reply;

/* name/known: NULL when the query has no such parameter. */
void serve_route(genbo_db *db, const char *page, size_t page_len, const char *method, const char *url,
                 const char *name, const char *known, serve_reply *out);

#endif
