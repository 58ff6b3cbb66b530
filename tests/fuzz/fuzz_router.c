/* fuzz_router.c - the dashboard's request router (cli/serve_route.c) on
 * arbitrary requests "METHOD PATH?QUERY" against a small study database:
 * every request gets a status in {200, 400, 404, 405, 500} and a body of
 * the length it says; JSON answers parse; nothing outside the routes is
 * ever served (no file is read: path traversal cannot reach the disk). */
#include <cjson/cJSON.h>

#include "cli/dashboard_data.h"
#include "cli/serve_route.h"
#include "fuzz.h"
#include "genbo.h"
#include "studies/store.h"

static genbo_db *fixture(void) {
    static genbo_db *db = NULL;
    if (db) return db;
    char path[128];
    snprintf(path, sizeof path, "/tmp/genbo_fuzz_router_%d.db", (int)getpid());
    remove(path);
    sqlite3 *w;
    if (genbo__store_open(path, GENBO__STORE_CREATE, &w)) abort();
    if (sqlite3_exec(w,
                     "INSERT INTO studies VALUES (1, 'alpha', '[study]\nname = alpha\n', 2, 1700000000);"
                     "INSERT INTO studies VALUES (2, 'b/../c', '[study]', NULL, 1700000001);"
                     "INSERT INTO runs VALUES (1, 1, 'run', 'cfg', 1, '0.1', 'done', 1, 2, 'generate', NULL);"
                     "INSERT INTO targets VALUES (1, 'p90', 0.5);",
                     NULL, NULL, NULL) != SQLITE_OK)
        abort();
    genbo__store_close(w);
    if (dashboard_db_open(path, &db)) abort();
    return db;
}

/* Decode %XX and '+' in place. */
static void decode(char *s) {
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p == '%' && p[1] && p[2]) {
            char hex[3] = {p[1], p[2], 0};
            *o++ = (char)strtol(hex, NULL, 16);
            p += 2;
        } else {
            *o++ = *p == '+' ? ' ' : *p;
        }
    }
    *o = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096) return 0;
    genbo_db *db = fixture();
    char *req = malloc(size + 1);
    memcpy(req, data, size);
    req[size] = '\0';
    char *method = req, *url = strchr(req, ' ');
    if (url) *url++ = '\0';
    else url = (char *)"/";
    char *nl = strpbrk(url, "\r\n");
    if (nl) *nl = '\0';
    char *query = strchr(url, '?'), *name = NULL, *known = NULL;
    if (query) {
        *query++ = '\0';
        for (char *kv = strtok(query, "&"); kv; kv = strtok(NULL, "&")) {
            char *eq = strchr(kv, '=');
            if (!eq) continue;
            *eq = '\0';
            decode(eq + 1);
            if (!strcmp(kv, "name")) name = eq + 1;
            else if (!strcmp(kv, "known")) known = eq + 1;
        }
    }
    static const char page[] = "<html>page</html>";
    serve_reply r;
    serve_route(db, page, sizeof page - 1, method, url, name, known, &r);
    FUZZ_CHECK(r.code == 200 || r.code == 400 || r.code == 404 || r.code == 405 || r.code == 500, "status %u",
               r.code);
    FUZZ_CHECK(r.body && r.type, "no body");
    if (r.body == page) {
        FUZZ_CHECK(!strcmp(url, "/") || !strcmp(url, "/index.html"), "the page served for '%s'", url);
    } else {
        FUZZ_CHECK(strlen(r.body) == r.len, "body length");
        cJSON *doc = cJSON_Parse(r.body);
        FUZZ_CHECK(doc, "answer is not JSON: %.200s", r.body);
        cJSON_Delete(doc);
    }
    if (r.must_free) free(r.body);
    free(req);
    return 0;
}
