/* dashboard_page.h - the dashboard's HTML page: one template (compiled into
 * the binary from cli/dashboard/dashboard.html) that either carries its data
 * inline (`genbo report`) or fetches it from the JSON endpoints of
 * `genbo serve`. */
#ifndef GENBO_CLI_DASHBOARD_PAGE_H
#define GENBO_CLI_DASHBOARD_PAGE_H

#include <stddef.h>

/* The template's bytes (generated at build time; NUL-terminated). */
extern const char dashboard_template[];
extern const size_t dashboard_template_len;

/* The page with `json` (a report document printed by dashboard_json_print)
 * in its data slot, or the live page when json is NULL. malloc'ed, length in
 * *len; NULL with genbo_errmsg() set on failure. */
char *dashboard_page_render(const char *json, size_t *len);

#endif
