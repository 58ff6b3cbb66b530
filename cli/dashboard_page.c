/* dashboard_page.c - put a report document into the page template. */
#include "cli/dashboard_page.h"

#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* The template's data slot: a JSON script element holding `null`, which
 * the page reads as "no inline data: fetch it from /api". */
static const char slot[] = "<script id=\"genbo-data\" type=\"application/json\">null</script>";
static const size_t slot_null_offset = sizeof "<script id=\"genbo-data\" type=\"application/json\">" - 1;

char *dashboard_page_render(const char *json, size_t *len) {
    const char *at = strstr(dashboard_template, slot);
    if (!at) {
        cli_error(GENBO_EFORMAT, "dashboard template has no data slot");
        return NULL;
    }
    const char *value = json ? json : "null";
    size_t head = (size_t)(at - dashboard_template) + slot_null_offset;
    size_t tail = dashboard_template_len - head - 4; /* skip "null" */
    size_t vlen = strlen(value);
    char *page = malloc(head + vlen + tail + 1);
    if (!page) {
        cli_error(GENBO_ENOMEM, "out of memory rendering the dashboard");
        return NULL;
    }
    memcpy(page, dashboard_template, head);
    memcpy(page + head, value, vlen);
    memcpy(page + head + vlen, dashboard_template + head + 4, tail);
    page[head + vlen + tail] = '\0';
    if (len) *len = head + vlen + tail;
    return page;
}
