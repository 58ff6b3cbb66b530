/* serve_route.c - see serve_route.h. The paths and their answers are the
 * README's `genbo serve` table. */
#include "cli/serve_route.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/dashboard_data.h"

static void reply_json(serve_reply *out, unsigned code, cJSON *doc) {
    char *text = doc ? dashboard_json_print(doc) : NULL;
    cJSON_Delete(doc);
    static char oom[] = "{\"error\":\"out of memory\"}";
    out->type = "application/json";
    out->code = text ? code : 500;
    out->body = text ? text : oom;
    out->len = strlen(out->body);
    out->must_free = text != NULL;
}

static void reply_error(serve_reply *out, unsigned code, const char *msg) {
    cJSON *doc = cJSON_CreateObject();
    if (doc) cJSON_AddStringToObject(doc, "error", msg);
    reply_json(out, code, doc);
}

static unsigned http_status(int status) {
    return status == GENBO_ENOTFOUND ? 404 : status == GENBO_EINVAL ? 400 : 500;
}

void serve_route(genbo_db *db, const char *page, size_t page_len, const char *method, const char *url,
                 const char *name, const char *known, serve_reply *out) {
    memset(out, 0, sizeof *out);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        reply_error(out, 405, "the dashboard is read-only: only GET is served");
        return;
    }
    if (!strcmp(url, "/") || !strcmp(url, "/index.html")) {
        out->code = 200;
        out->type = "text/html; charset=utf-8";
        out->body = (char *)page;
        out->len = page_len;
        return;
    }
    cJSON *doc = NULL;
    int status;
    if (!strcmp(url, "/api/studies")) {
        status = dashboard_studies_json(db, &doc);
    } else if (!strcmp(url, "/api/study")) {
        if (!name || !*name) {
            reply_error(out, 400, "missing query parameter 'name'");
            return;
        }
        if (known) {
            char *end = NULL;
            long long v = strtoll(known, &end, 10), now = 0;
            if (!*known || *end) {
                reply_error(out, 400, "query parameter 'known' is not an integer");
                return;
            }
            if (dashboard_data_version(db, &now) != GENBO_OK) {
                reply_error(out, 500, cli_errmsg());
                return;
            }
            if (now == v) {
                cJSON *same = cJSON_CreateObject();
                if (same) {
                    cJSON_AddBoolToObject(same, "unchanged", 1);
                    cJSON_AddNumberToObject(same, "data_version", (double)now);
                }
                reply_json(out, 200, same);
                return;
            }
        }
        status = dashboard_study_json(db, name, &doc);
    } else {
        char msg[256];
        snprintf(msg, sizeof msg, "no such path '%.200s' (try /, /api/studies, /api/study?name=)", url);
        reply_error(out, 404, msg);
        return;
    }
    if (status != GENBO_OK) {
        cJSON_Delete(doc);
        reply_error(out, http_status(status), cli_errmsg());
        return;
    }
    reply_json(out, 200, doc);
}
