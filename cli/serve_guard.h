/* serve_guard.h - connection limits of `genbo serve` that libmicrohttpd's
 * own options do not give: at most `limit` live connections (a new one
 * evicts the connection that has gone longest without completing a
 * request, so held connections can never lock a fresh client out), and a
 * deadline from a connection's start or its last completed request to the
 * next completed request that trickled bytes cannot reset (MHD's
 * CONNECTION_TIMEOUT is an inactivity timeout: one byte per second keeps a
 * connection forever). */
#ifndef GENBO_CLI_SERVE_GUARD_H
#define GENBO_CLI_SERVE_GUARD_H

#include <microhttpd.h>

typedef struct serve_guard serve_guard;

serve_guard *serve_guard_start(unsigned limit, double deadline_seconds);
void serve_guard_stop(serve_guard *g);
/* MHD_OPTION_NOTIFY_CONNECTION and MHD_OPTION_NOTIFY_COMPLETED callbacks
 * (cls = the guard). */
void serve_guard_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                            enum MHD_ConnectionNotificationCode toe);
void serve_guard_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                           enum MHD_RequestTerminationCode toe);

#endif
