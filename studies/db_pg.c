/* db_pg.c - the PostgreSQL back end of the storage interface, over libpq.
 *
 * Statements: `?` / `?N` placeholders become $N; parameters go out typed
 * (bigint, double precision, text as text, bytea in binary) and results
 * come back in text format (bytea as hex, decoded here; doubles are exact:
 * extra_float_digits = 3). A statement runs when first stepped and its
 * rows are then read from the PGresult.
 *
 * Concurrency as on SQLite: a write transaction takes one transaction-level
 * advisory lock first, so writers serialise exactly as BEGIN IMMEDIATE
 * makes them (no serialisation failures or deadlocks between genbo
 * writers). A dropped connection is re-established with back-off (PQreset)
 * before the next statement outside a transaction; inside one the
 * statement fails with GENBO__DB_BUSY and the caller retries the whole
 * transaction (store.c). Session advisory locks (the run lock) are retaken
 * after a reconnect.
 *
 * Built without libpq (GENBO_HAVE_LIBPQ undefined) a postgresql:// target
 * gives a clear error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/core.h"
#include "studies/db_backend.h"

#ifndef GENBO_HAVE_LIBPQ

int genbo__db_pg_available(void) { return 0; }

int genbo__db_pg_connect(const char *url, int readonly, genbo__db **out) {
    (void)readonly;
    *out = NULL;
    char label[512];
    genbo__db_mask(url, label, sizeof label);
    return genbo__fail(GENBO_EINVAL,
                       "%s: this genbo was built without PostgreSQL support (install libpq-dev and "
                       "rebuild; `genbo info` shows what is built in)", label);
}

#else

#include <ctype.h>
#include <libpq-fe.h>
#include <math.h>
#include <pthread.h>
#include <time.h>

/* OIDs of the built-in types (pg_type.h is a server header). */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25
#define OID_OID 26
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_NUMERIC 1700

/* The key space of genbo's advisory locks (the two-int form): "gnbo". */
#define LOCK_CLASS 1735288431
/* How long a dropped connection is retried, and a first connect that is
 * refused (a server starting or restarting). */
#define RECONNECT_SECONDS 60.0
#define CONNECT_SECONDS 10.0

int genbo__db_pg_available(void) { return 1; }

typedef struct pg_db {
    genbo__db base;
    PGconn *conn;
    int readonly;
    int txn;          /* inside BEGIN .. COMMIT/ROLLBACK (ours, survives a drop) */
    char xid[32];     /* the write transaction's id (txid_current), for a lost COMMIT */
    /* The statements of the open transaction with a checksum of
     * their results: after a dropped connection they are run again on a
     * new one, and the transaction goes on only if every result is the
     * same (else the caller sees BUSY and retries it whole). */
    struct logged *log;
    size_t n_log, cap_log;
    int recording, replaying;
    int reading;      /* the open transaction is a read snapshot (no writer lock) */
    int64_t changes;
    char err[1024];
    char **locks;     /* session advisory locks held, retaken on reconnect */
    size_t n_locks;
    pthread_mutex_t mu; /* one connection, possibly several threads (serve) */
} pg_db;

typedef struct pg_param {
    int set;      /* 0 = NULL */
    Oid type;
    int format;   /* 0 text, 1 binary */
    char num[40]; /* a number's text */
    char *data;   /* text or blob (owned unless borrowed) */
    int len;
    int owned;
} pg_param;

typedef struct logged {
    char *sql;
    int n;
    pg_param *p;
    uint32_t crc;
} logged;

typedef struct pg_stmt {
    genbo__db_stmt base;
    char *sql;
    int n;        /* parameters ($1..$n) */
    pg_param *p;
    PGresult *res;
    int row, rows, done;
    unsigned char **blob; /* decoded bytea of the current row, per column */
    int *blob_len;
    int blob_row;
} pg_stmt;

#define DB(d) ((pg_db *)(d))
#define ST(s) ((pg_stmt *)(s))

static void sleep_s(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* libpq prints NOTICEs to stderr by default; the library never prints. */
static void quiet(void *arg, const char *message) { (void)arg, (void)message; }

static void set_err(pg_db *db, const char *what, const char *msg) {
    char m[900];
    snprintf(m, sizeof m, "%s", msg ? msg : "");
    size_t l = strlen(m);
    while (l && (m[l - 1] == '\n' || m[l - 1] == ' ')) m[--l] = '\0';
    snprintf(db->err, sizeof db->err, "%s%s%s", what ? what : "", what && *m ? ": " : "", m);
}

static int connection_lost(pg_db *db, const PGresult *res) {
    if (PQstatus(db->conn) == CONNECTION_BAD) return 1;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (!state) return res == NULL;
    /* 08: connection exception; 57P01..3: admin/crash shutdown, cannot
     * connect now */
    return !strncmp(state, "08", 2) || !strcmp(state, "57P01") || !strcmp(state, "57P02") ||
           !strcmp(state, "57P03");
}

static int transient_state(const PGresult *res) {
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    /* serialization_failure, deadlock_detected, lock_not_available */
    return state && (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03"));
}

/* Settings of every session (a new connection and after a reset). */
static int session_setup(pg_db *db) {
    const char *sql = db->readonly
                          ? "SET extra_float_digits = 3; SET bytea_output = 'hex'; "
                            "SET client_min_messages = warning; SET default_transaction_read_only = on"
                          : "SET extra_float_digits = 3; SET bytea_output = 'hex'; "
                            "SET client_min_messages = warning";
    PGresult *r = PQexec(db->conn, sql);
    int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) set_err(db, "session setup", r ? PQresultErrorMessage(r) : PQerrorMessage(db->conn));
    PQclear(r);
    for (size_t i = 0; ok && i < db->n_locks; i++) {
        const char *v[1] = {db->locks[i]};
        r = PQexecParams(db->conn, "SELECT pg_try_advisory_lock(" "1735288431" ", hashtext($1))", 1, NULL, v,
                         NULL, NULL, 0);
        ok = r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
        if (!ok) {
            char m[700];
            snprintf(m, sizeof m, "the lock '%s' was lost with the connection and another session holds it now",
                     db->locks[i]);
            set_err(db, "reconnecting", m);
        }
        PQclear(r);
    }
    return ok;
}

/* Re-establish a dropped connection, with back-off. */
static int reconnect(pg_db *db, double budget) {
    double start = now_s(), wait = 0.05;
    for (;;) {
        PQreset(db->conn);
        if (PQstatus(db->conn) == CONNECTION_OK) {
            PQsetNoticeProcessor(db->conn, quiet, NULL);
            if (session_setup(db)) return 1;
            if (PQstatus(db->conn) == CONNECTION_OK) return 0; /* e.g. a lost lock */
        } else {
            set_err(db, "reconnecting", PQerrorMessage(db->conn));
        }
        if (now_s() - start + wait > budget) return 0;
        sleep_s(wait);
        wait = wait * 2 > 2.0 ? 2.0 : wait * 2;
    }
}

static int begins(const char *sql, const char *word) {
    while (*sql == ' ' || *sql == '\n') sql++;
    size_t n = strlen(word);
    return !strncasecmp(sql, word, n) && (sql[n] == '\0' || sql[n] == ' ' || sql[n] == ';');
}

static uint32_t result_crc(const PGresult *r) {
    int rows = PQntuples(r), cols = PQnfields(r);
    uint32_t c = genbo__crc32(0, &rows, sizeof rows);
    c = genbo__crc32(c, &cols, sizeof cols);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            char null = (char)PQgetisnull(r, i, j);
            c = genbo__crc32(c, &null, 1);
            c = genbo__crc32(c, PQgetvalue(r, i, j), (size_t)PQgetlength(r, i, j));
        }
    return c;
}

static void log_clear(pg_db *db) {
    for (size_t i = 0; i < db->n_log; i++) {
        for (int k = 0; k < db->log[i].n; k++) free(db->log[i].p[k].data);
        free(db->log[i].p);
        free(db->log[i].sql);
    }
    db->n_log = 0;
}

/* Remember a statement of the open transaction (a copy: the caller's
 * buffers change). Out of memory: recording stops, so a drop fails. */
static void log_add(pg_db *db, const char *sql, int n, const pg_param *p, const PGresult *r) {
    if (db->n_log == db->cap_log) {
        size_t cap = db->cap_log ? 2 * db->cap_log : 16;
        logged *l = realloc(db->log, cap * sizeof *l);
        if (!l) {
            db->recording = 0;
            return;
        }
        db->log = l;
        db->cap_log = cap;
    }
    logged *e = &db->log[db->n_log];
    e->sql = strdup(sql);
    e->n = n;
    e->p = calloc((size_t)(n > 0 ? n : 1), sizeof *e->p);
    int ok = e->sql && e->p;
    for (int k = 0; ok && k < n; k++) {
        e->p[k] = p[k];
        e->p[k].owned = 1;
        if (p[k].data) {
            e->p[k].data = malloc((size_t)p[k].len + 1);
            if (e->p[k].data) memcpy(e->p[k].data, p[k].data, (size_t)p[k].len + 1);
            else ok = 0;
        }
    }
    e->crc = result_crc(r);
    db->n_log++;
    if (!ok) db->recording = 0;
}

static PGresult *exec_params(pg_db *db, const char *sql, int n, const pg_param *p);

/* A read snapshot: BEGIN of genbo__db_begin_read and of its replay. */
#define READ_SNAPSHOT "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

/* The connection dropped inside a transaction: a new connection, a new
 * transaction (a write one with the writer lock, or a read snapshot), and
 * every statement so far again: a snapshot whose statements all answer as
 * before is as good as the lost one.
 * 1 when all gave the same results (the transaction is whole again). */
static int replay(pg_db *db) {
    if (!db->recording || db->replaying) return 0;
    db->txn = 0;
    if (!reconnect(db, RECONNECT_SECONDS)) return 0;
    PGresult *r = PQexec(db->conn, db->reading ? READ_SNAPSHOT : "BEGIN");
    int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) return 0;
    db->txn = 1;
    if (!db->reading) {
        r = PQexec(db->conn, "SELECT txid_current() FROM (SELECT pg_advisory_xact_lock(1735288431, 0)) AS l");
        ok = r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
        if (ok) snprintf(db->xid, sizeof db->xid, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    db->replaying = 1;
    for (size_t i = 0; ok && i < db->n_log; i++) {
        r = exec_params(db, db->log[i].sql, db->log[i].n, db->log[i].p);
        ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        ok = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) && result_crc(r) == db->log[i].crc;
        PQclear(r);
    }
    db->replaying = 0;
    return ok;
}

static PGresult *exec_params(pg_db *db, const char *sql, int n, const pg_param *p) {
    Oid types[n > 0 ? n : 1];
    const char *values[n > 0 ? n : 1];
    int lengths[n > 0 ? n : 1], formats[n > 0 ? n : 1];
    for (int i = 0; i < n; i++) {
        types[i] = p[i].set ? p[i].type : 0;
        values[i] = !p[i].set ? NULL : p[i].data ? p[i].data : p[i].num;
        lengths[i] = p[i].set && p[i].data ? p[i].len : 0;
        formats[i] = p[i].set ? p[i].format : 0;
    }
    return n > 0 ? PQexecParams(db->conn, sql, n, types, values, lengths, formats, 0) : PQexec(db->conn, sql);
}

/* Run one statement (parameters or not), reconnecting outside a
 * transaction. Returns the result (status checked) or NULL with the
 * error set and *rc = BUSY or ERROR. */
static PGresult *run(pg_db *db, const char *sql, int n, const pg_param *p, int *rc) {
    db->base.transient = 0;
    for (int attempt = 0;; attempt++) {
        if (PQstatus(db->conn) == CONNECTION_BAD) {
            if (db->txn) {
                if (attempt < 3 && replay(db)) continue;
                set_err(db, "the connection to the server was lost inside a transaction", NULL);
                db->base.transient = 1;
                *rc = GENBO__DB_BUSY;
                return NULL;
            }
            if (!reconnect(db, RECONNECT_SECONDS)) {
                db->base.transient = PQstatus(db->conn) == CONNECTION_BAD;
                *rc = db->base.transient ? GENBO__DB_BUSY : GENBO__DB_ERROR;
                return NULL;
            }
        }
        PGresult *r = exec_params(db, sql, n, p);
        ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
            if (s == PGRES_COMMAND_OK) {
                const char *t = PQcmdTuples(r);
                db->changes = t && *t ? strtoll(t, NULL, 10) : 0;
                /* COMMIT of an aborted transaction answers ROLLBACK */
                if (begins(sql, "COMMIT") && !strcmp(PQcmdStatus(r), "ROLLBACK")) {
                    PQclear(r);
                    db->txn = 0;
                    set_err(db, "COMMIT", "the transaction had failed and was rolled back");
                    *rc = GENBO__DB_ERROR;
                    return NULL;
                }
            }
            if (db->txn && db->recording && !db->replaying && !begins(sql, "COMMIT") && !begins(sql, "ROLLBACK"))
                log_add(db, sql, n, p, r);
            *rc = GENBO__DB_OK;
            return r;
        }
        int lost = connection_lost(db, r);
        set_err(db, NULL, r ? PQresultErrorMessage(r) : PQerrorMessage(db->conn));
        if (!*db->err) set_err(db, NULL, PQerrorMessage(db->conn));
        int transient = lost || transient_state(r);
        PQclear(r);
        if (lost && attempt < 3 && !begins(sql, "COMMIT") && !begins(sql, "ROLLBACK")) {
            if (!db->txn) continue;        /* reconnect, run it again */
            if (replay(db)) continue;      /* the transaction is whole again: this one next */
            /* (not the replay's last reconnect message: that one may be
             * an attempt made while the server was still starting) */
            set_err(db, "the connection to the server was lost inside a transaction", NULL);
        }
        db->base.transient = transient;
        *rc = transient ? GENBO__DB_BUSY : GENBO__DB_ERROR;
        return NULL;
    }
}

/* ---- statements ---------------------------------------------------------- */

/* Primary keys of the tables genbo writes with INSERT OR REPLACE / OR
 * IGNORE (schema.c), for ON CONFLICT. */
static const char *const conflict_keys[][2] = {
    {"metrics", "run_id, round, target_label, method"},
    {"steps", "run_id, step"},
    {"train_curve", "run_id, round, step"},
    {"train_checkpoints", "run_id, round"},
    {"trainings", "run_id, round"},
    {"targets", "run_id, label"},
    {"observations", "trial_id"},
};

static int is_word_char(int c) { return isalnum(c) || c == '_'; }

/* SQLite's dialect -> PostgreSQL's, for one statement:
 *  - `?` -> $k (k counts up), `?N` -> $N, outside quotes; the number of
 *    parameters is the largest index;
 *  - `IS ?` (SQLite's null-safe equality) -> IS NOT DISTINCT FROM $k;
 *  - rowid (insertion order of a table without a key) -> ctid;
 *  - INSERT OR IGNORE INTO t ... -> INSERT INTO t ... ON CONFLICT DO NOTHING;
 *  - INSERT OR REPLACE INTO t (cols) ... -> INSERT INTO t (cols) ...
 *    ON CONFLICT (key of t) DO UPDATE SET c = EXCLUDED.c for the others. */
static char *translate(const char *sql, int *n_params) {
    size_t cap = strlen(sql) * 3 + 1024, k = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    int next = 0, max = 0;
    char quote = 0;
    const char *p = sql;
    while (*p == ' ' || *p == '\n') p++;
    int replace = !strncasecmp(p, "INSERT OR REPLACE INTO ", 23);
    int ignore = !strncasecmp(p, "INSERT OR IGNORE INTO ", 22);
    char suffix[1024] = "";
    if (replace || ignore) {
        k += (size_t)snprintf(out, cap, "INSERT INTO ");
        p += replace ? 23 : 22;
        if (ignore) snprintf(suffix, sizeof suffix, " ON CONFLICT DO NOTHING");
        else {
            size_t tn = 0;
            while (is_word_char((unsigned char)p[tn])) tn++;
            const char *key = NULL;
            for (size_t t = 0; t < sizeof conflict_keys / sizeof conflict_keys[0]; t++)
                if (strlen(conflict_keys[t][0]) == tn && !strncmp(p, conflict_keys[t][0], tn)) key = conflict_keys[t][1];
            const char *open = strchr(p, '('), *close = open ? strchr(open, ')') : NULL;
            if (!key || !open || !close) {
                free(out);
                return NULL; /* a table this back end does not know: caught in tests */
            }
            size_t m = (size_t)snprintf(suffix, sizeof suffix, " ON CONFLICT (%s) DO UPDATE SET ", key);
            int first = 1;
            for (const char *c = open + 1; c < close;) {
                while (c < close && !is_word_char((unsigned char)*c)) c++;
                size_t cn = 0;
                while (c + cn < close && is_word_char((unsigned char)c[cn])) cn++;
                if (!cn) break;
                /* a key column stays */
                int in_key = 0;
                for (const char *q = key; *q;) {
                    size_t qn = strcspn(q, ", ");
                    if (qn == cn && !strncmp(q, c, cn)) in_key = 1;
                    q += qn;
                    while (*q == ',' || *q == ' ') q++;
                }
                if (!in_key && m + 2 * cn + 20 < sizeof suffix)
                    m += (size_t)snprintf(suffix + m, sizeof suffix - m, "%s%.*s = EXCLUDED.%.*s", first ? "" : ", ",
                                          (int)cn, c, (int)cn, c);
                if (!in_key) first = 0;
                c += cn;
            }
        }
    }
    for (; *p; p++) {
        if (quote) {
            if (*p == quote) quote = 0;
            out[k++] = *p;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
            out[k++] = *p;
        } else if (!strncmp(p, "rowid", 5) && (p == sql || !is_word_char((unsigned char)p[-1])) &&
                   !is_word_char((unsigned char)p[5])) {
            memcpy(out + k, "ctid", 4);
            k += 4;
            p += 4;
        } else if (!strncasecmp(p, "IS ?", 4) && (p == sql || !is_word_char((unsigned char)p[-1]))) {
            k += (size_t)snprintf(out + k, cap - k, "IS NOT DISTINCT FROM ");
            p += 2; /* the loop's p++ moves to the space before '?' */
        } else if (*p == '?') {
            int idx;
            if (p[1] >= '0' && p[1] <= '9') {
                char *end;
                idx = (int)strtol(p + 1, &end, 10);
                p = end - 1;
            } else {
                idx = ++next;
            }
            if (idx > next) next = idx;
            if (idx > max) max = idx;
            k += (size_t)snprintf(out + k, cap - k, "$%d", idx);
        } else {
            out[k++] = *p;
        }
    }
    while (k && (out[k - 1] == ' ' || out[k - 1] == ';' || out[k - 1] == '\n')) k--;
    k += (size_t)snprintf(out + k, cap - k, "%s", suffix);
    out[k] = '\0';
    *n_params = max;
    return out;
}

static void free_result(pg_stmt *st) {
    if (st->blob)
        for (int i = 0; st->res && i < PQnfields(st->res); i++) free(st->blob[i]);
    free(st->blob);
    free(st->blob_len);
    st->blob = NULL;
    st->blob_len = NULL;
    PQclear(st->res);
    st->res = NULL;
    st->row = -1;
    st->rows = 0;
    st->done = 0;
}

static void free_param(pg_param *p) {
    if (p->owned) free(p->data);
    memset(p, 0, sizeof *p);
}

static const char *pg_errmsg(genbo__db *db) { return DB(db)->err[0] ? DB(db)->err : "no error"; }

static int pg_prepare(genbo__db *d, const char *sql, genbo__db_stmt **out) {
    pg_stmt *st = calloc(1, sizeof *st);
    if (!st) return GENBO__DB_ERROR;
    st->sql = translate(sql, &st->n);
    st->p = calloc((size_t)(st->n > 0 ? st->n : 1), sizeof *st->p);
    if (!st->sql || !st->p) {
        set_err(DB(d), "preparing a statement",
                st->sql ? "out of memory" : "INSERT OR REPLACE into a table without a known key (db_pg.c)");
        free(st->sql);
        free(st->p);
        free(st);
        return GENBO__DB_ERROR;
    }
    st->base.db = d;
    st->row = -1;
    *out = &st->base;
    return GENBO__DB_OK;
}

static pg_param *param(genbo__db_stmt *s, int i) {
    pg_stmt *st = ST(s);
    if (i < 1 || i > st->n) return NULL; /* as SQLite: SQLITE_RANGE, ignored by callers */
    free_param(&st->p[i - 1]);
    return &st->p[i - 1];
}

static int pg_bind_int64(genbo__db_stmt *s, int i, int64_t v) {
    pg_param *p = param(s, i);
    if (!p) return GENBO__DB_ERROR;
    p->set = 1;
    p->type = OID_INT8;
    snprintf(p->num, sizeof p->num, "%lld", (long long)v);
    return GENBO__DB_OK;
}

static int pg_bind_double(genbo__db_stmt *s, int i, double v) {
    pg_param *p = param(s, i);
    if (!p) return GENBO__DB_ERROR;
    p->set = 1;
    p->type = OID_FLOAT8;
    if (isnan(v)) snprintf(p->num, sizeof p->num, "NaN");
    else if (isinf(v)) snprintf(p->num, sizeof p->num, v > 0 ? "Infinity" : "-Infinity");
    else snprintf(p->num, sizeof p->num, "%.17g", v);
    return GENBO__DB_OK;
}

static int pg_bind_null(genbo__db_stmt *s, int i) { return param(s, i) ? GENBO__DB_OK : GENBO__DB_ERROR; }

static int bind_bytes(genbo__db_stmt *s, int i, const void *v, size_t n, genbo__db_free_fn dtor, Oid type,
                      int format) {
    pg_param *p = param(s, i);
    if (!p) {
        if (dtor != GENBO__DB_STATIC && dtor != GENBO__DB_TRANSIENT) dtor((void *)v);
        return GENBO__DB_ERROR;
    }
    if (!v) return GENBO__DB_OK; /* NULL, as SQLite binds it */
    /* Always a private copy, NUL-terminated (text goes out as a C string). */
    p->data = malloc(n + 1);
    if (!p->data) return GENBO__DB_ERROR;
    memcpy(p->data, v, n);
    p->data[n] = '\0';
    p->len = (int)n;
    p->owned = 1;
    p->set = 1;
    p->type = type;
    p->format = format;
    if (dtor != GENBO__DB_STATIC && dtor != GENBO__DB_TRANSIENT) dtor((void *)v);
    return GENBO__DB_OK;
}

static int pg_bind_text(genbo__db_stmt *s, int i, const char *v, int n, genbo__db_free_fn dtor) {
    return bind_bytes(s, i, v, v ? (n < 0 ? strlen(v) : (size_t)n) : 0, dtor, OID_TEXT, 0);
}

static int pg_bind_blob(genbo__db_stmt *s, int i, const void *v, size_t n, genbo__db_free_fn dtor) {
    static const char empty[1] = {0};
    return bind_bytes(s, i, v ? v : (n == 0 ? empty : NULL), n, dtor, OID_BYTEA, 1);
}

static int pg_bind_parameter_count(genbo__db_stmt *s) { return ST(s)->n; }

static int pg_clear_bindings(genbo__db_stmt *s) {
    for (int i = 0; i < ST(s)->n; i++) free_param(&ST(s)->p[i]);
    return GENBO__DB_OK;
}

static int pg_step(genbo__db_stmt *s) {
    pg_stmt *st = ST(s);
    pg_db *db = DB(s->db);
    if (st->done) return GENBO__DB_DONE;
    if (!st->res) {
        int rc;
        pthread_mutex_lock(&db->mu);
        st->res = run(db, st->sql, st->n, st->p, &rc);
        pthread_mutex_unlock(&db->mu);
        if (!st->res) return rc;
        st->rows = PQresultStatus(st->res) == PGRES_TUPLES_OK ? PQntuples(st->res) : 0;
        st->row = -1;
        int nf = PQnfields(st->res);
        st->blob = calloc((size_t)(nf > 0 ? nf : 1), sizeof *st->blob);
        st->blob_len = calloc((size_t)(nf > 0 ? nf : 1), sizeof *st->blob_len);
        st->blob_row = -1;
    }
    if (++st->row < st->rows) return GENBO__DB_ROW;
    st->done = 1;
    return GENBO__DB_DONE;
}

static int pg_reset(genbo__db_stmt *s) {
    free_result(ST(s));
    return GENBO__DB_OK;
}

static void pg_finalize(genbo__db_stmt *s) {
    pg_stmt *st = ST(s);
    free_result(st);
    pg_clear_bindings(s);
    free(st->p);
    free(st->sql);
    free(st);
}

static int have_row(pg_stmt *st, int i) {
    return st->res && st->row >= 0 && st->row < st->rows && i >= 0 && i < PQnfields(st->res);
}

static int pg_column_count(genbo__db_stmt *s) {
    pg_stmt *st = ST(s);
    if (!st->res) return 0;
    return PQnfields(st->res);
}

static const char *pg_column_name(genbo__db_stmt *s, int i) {
    pg_stmt *st = ST(s);
    return st->res && i >= 0 && i < PQnfields(st->res) ? PQfname(st->res, i) : NULL;
}

static int pg_column_type(genbo__db_stmt *s, int i) {
    pg_stmt *st = ST(s);
    if (!have_row(st, i) || PQgetisnull(st->res, st->row, i)) return GENBO__DB_NULL;
    switch (PQftype(st->res, i)) {
    case OID_BOOL: case OID_INT2: case OID_INT4: case OID_INT8: case OID_OID: return GENBO__DB_INTEGER;
    case OID_FLOAT4: case OID_FLOAT8: case OID_NUMERIC: return GENBO__DB_FLOAT;
    case OID_BYTEA: return GENBO__DB_BLOB;
    default: return GENBO__DB_TEXT;
    }
}

static const char *value(pg_stmt *st, int i) {
    if (!have_row(st, i) || PQgetisnull(st->res, st->row, i)) return NULL;
    return PQgetvalue(st->res, st->row, i);
}

static int64_t pg_column_int64(genbo__db_stmt *s, int i) {
    const char *v = value(ST(s), i);
    if (!v) return 0;
    if (v[0] == 't' && !v[1]) return 1; /* boolean */
    if (v[0] == 'f' && !v[1]) return 0;
    if (strpbrk(v, ".eE")) return (int64_t)strtod(v, NULL);
    return strtoll(v, NULL, 10);
}

static double pg_column_double(genbo__db_stmt *s, int i) {
    const char *v = value(ST(s), i);
    if (!v) return 0.0;
    if (v[0] == 't' && !v[1]) return 1.0;
    if (v[0] == 'f' && !v[1]) return 0.0;
    return strtod(v, NULL);
}

static const unsigned char *pg_column_text(genbo__db_stmt *s, int i) {
    return (const unsigned char *)value(ST(s), i);
}

static int hexval(int c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* bytea arrives as "\x" + hex; decoded once per row and column. */
static const unsigned char *decoded(pg_stmt *st, int i, int *len) {
    *len = 0;
    const char *v = value(st, i);
    if (!v) return NULL;
    if (st->blob_row != st->row) {
        for (int c = 0; c < PQnfields(st->res); c++) {
            free(st->blob[c]);
            st->blob[c] = NULL;
            st->blob_len[c] = -1;
        }
        st->blob_row = st->row;
    }
    if (!st->blob[i]) {
        int n = PQgetlength(st->res, st->row, i);
        if (PQftype(st->res, i) != OID_BYTEA || n < 2 || v[0] != '\\' || v[1] != 'x') {
            st->blob_len[i] = n; /* not a bytea: its text bytes, as SQLite gives them */
            return (const unsigned char *)v;
        }
        size_t m = (size_t)(n - 2) / 2;
        unsigned char *b = malloc(m + 1);
        if (!b) return NULL;
        for (size_t j = 0; j < m; j++) {
            int hi = hexval(v[2 + 2 * j]), lo = hexval(v[3 + 2 * j]);
            b[j] = (unsigned char)((hi < 0 ? 0 : hi) << 4 | (lo < 0 ? 0 : lo));
        }
        st->blob[i] = b;
        st->blob_len[i] = (int)m;
    }
    *len = st->blob_len[i];
    return st->blob[i];
}

static const void *pg_column_blob(genbo__db_stmt *s, int i) {
    int len;
    const unsigned char *b = decoded(ST(s), i, &len);
    return len > 0 ? b : NULL;
}

static int pg_column_bytes(genbo__db_stmt *s, int i) {
    pg_stmt *st = ST(s);
    if (!have_row(st, i) || PQgetisnull(st->res, st->row, i)) return 0;
    if (PQftype(st->res, i) != OID_BYTEA) return PQgetlength(st->res, st->row, i);
    int len;
    decoded(st, i, &len);
    return len;
}

/* ---- connection-level ------------------------------------------------------ */

/* The connection broke during COMMIT: did it commit? Reconnect and ask
 * the server (txid_status): committed = success (retrying would tell a
 * trial twice), aborted or unknown = a transient failure to retry. */
static int commit_outcome(pg_db *db) {
    if (!reconnect(db, RECONNECT_SECONDS)) return GENBO__DB_BUSY;
    const char *v[1] = {db->xid};
    PGresult *r = PQexecParams(db->conn, "SELECT txid_status(CAST($1 AS bigint))", 1, NULL, v, NULL, NULL, 0);
    int committed = r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
                    !PQgetisnull(r, 0, 0) && !strcmp(PQgetvalue(r, 0, 0), "committed");
    PQclear(r);
    db->base.transient = !committed;
    return committed ? GENBO__DB_OK : GENBO__DB_BUSY;
}

static int pg_exec(genbo__db *d, const char *sql) {
    pg_db *db = DB(d);
    int rc, end = begins(sql, "COMMIT") || begins(sql, "ROLLBACK");
    pthread_mutex_lock(&db->mu);
    if (begins(sql, "ROLLBACK") && PQstatus(db->conn) == CONNECTION_BAD) {
        db->txn = 0; /* the server dropped it with the connection */
        db->recording = 0;
        db->xid[0] = '\0';
        log_clear(db);
        pthread_mutex_unlock(&db->mu);
        return GENBO__DB_OK;
    }
    PGresult *r = run(db, sql, 0, NULL, &rc);
    if (begins(sql, "BEGIN") && r) db->txn = 1;
    if (end) db->txn = 0;
    /* a read snapshot has nothing to commit: a COMMIT lost with the
     * connection ended it as well as a delivered one */
    if (end && db->reading && !r && PQstatus(db->conn) == CONNECTION_BAD) rc = GENBO__DB_OK;
    if (begins(sql, "COMMIT") && !r && db->xid[0] && PQstatus(db->conn) == CONNECTION_BAD) {
        rc = commit_outcome(db);
        /* it did not commit: the same transaction again, then COMMIT */
        if (rc == GENBO__DB_BUSY && replay(db)) {
            PGresult *c = PQexec(db->conn, "COMMIT");
            if (c && PQresultStatus(c) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(c), "ROLLBACK")) rc = GENBO__DB_OK;
            PQclear(c);
        }
        db->txn = 0;
    }
    if (end) {
        db->xid[0] = '\0';
        db->recording = 0;
        db->reading = 0;
        log_clear(db);
    }
    pthread_mutex_unlock(&db->mu);
    PQclear(r);
    return rc;
}

static int64_t pg_changes(genbo__db *d) { return DB(d)->changes; }

/* One value of a one-row query with at most one text parameter. */
static int one(genbo__db *d, const char *sql, const char *arg, char *out, size_t size) {
    pg_db *db = DB(d);
    pg_param p = {0};
    if (arg) {
        p.set = 1;
        p.type = OID_TEXT;
        p.data = (char *)arg;
        p.len = (int)strlen(arg);
    }
    int rc;
    pthread_mutex_lock(&db->mu);
    PGresult *r = run(db, sql, arg ? 1 : 0, &p, &rc);
    pthread_mutex_unlock(&db->mu);
    if (!r) return rc;
    out[0] = '\0';
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        snprintf(out, size, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return GENBO__DB_OK;
}

static int one_int(genbo__db *d, const char *sql, const char *arg, int64_t *v) {
    char buf[64];
    int rc = one(d, sql, arg, buf, sizeof buf);
    *v = rc ? 0 : buf[0] == 't' ? 1 : strtoll(buf, NULL, 10);
    return rc;
}

static int64_t pg_last_insert_id(genbo__db *d) {
    int64_t v = 0;
    one_int(d, "SELECT lastval()", NULL, &v);
    return v;
}

static int pg_in_txn(genbo__db *d) { return DB(d)->txn; }

/* BEGIN, then the database-wide writer lock (released at COMMIT or
 * ROLLBACK): the PostgreSQL spelling of BEGIN IMMEDIATE. */
static int pg_begin_write(genbo__db *d) {
    int rc = pg_exec(d, "BEGIN");
    if (rc) return rc;
    rc = one(d, "SELECT txid_current() FROM (SELECT pg_advisory_xact_lock(1735288431, 0)) AS l", NULL,
             DB(d)->xid, sizeof DB(d)->xid);
    if (rc) pg_exec(d, "ROLLBACK");
    else {
        log_clear(DB(d));
        DB(d)->recording = 1;
        DB(d)->reading = 0;
    }
    return rc;
}

/* A snapshot, recorded like a write transaction so that a dropped
 * connection is replayed (and checked) rather than failing the read. */
static int pg_begin_read(genbo__db *d) {
    int rc = pg_exec(d, READ_SNAPSHOT);
    if (!rc) {
        log_clear(DB(d));
        DB(d)->recording = 1;
        DB(d)->reading = 1;
    }
    return rc;
}

static int pg_schema_version(genbo__db *d, int64_t *v) {
    int64_t exists = 0;
    /* A catalog query, not to_regclass: after waiting for the writer lock
     * of another process's migration, to_regclass can answer from a stale
     * negative cache entry (pgtest's four-creates-at-once test). */
    int rc = one_int(d, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
                        "ON n.oid = c.relnamespace WHERE c.relname = 'genbo_schema_version' "
                        "AND n.nspname = current_schema())", NULL, &exists);
    if (rc || !exists) {
        *v = 0;
        return rc;
    }
    return one_int(d, "SELECT coalesce(max(version), 0) FROM genbo_schema_version", NULL, v);
}

static int pg_set_schema_version(genbo__db *d, int64_t v) {
    char sql[256];
    snprintf(sql, sizeof sql,
             "CREATE TABLE IF NOT EXISTS genbo_schema_version (version BIGINT NOT NULL); "
             "DELETE FROM genbo_schema_version; INSERT INTO genbo_schema_version VALUES (%lld)",
             (long long)v);
    return pg_exec(d, sql);
}

static int pg_table_count(genbo__db *d, int64_t *n) {
    return one_int(d, "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() "
                      "AND table_type = 'BASE TABLE'", NULL, n);
}

static int pg_has_table(genbo__db *d, const char *name) {
    int64_t n = 0;
    if (one_int(d, "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() "
                   "AND table_name = $1", name, &n))
        return 0;
    return n > 0;
}

static int word_is(const char *p, size_t n, const char *w) { return strlen(w) == n && !strncasecmp(p, w, n); }

/* SQLite DDL -> PostgreSQL: `id INTEGER PRIMARY KEY [AUTOINCREMENT]` ->
 * `id BIGSERIAL PRIMARY KEY`, INTEGER -> BIGINT (SQLite's integers are 64
 * bits), REAL -> DOUBLE PRECISION, BLOB -> BYTEA. Outside quotes only. */
static char *translate_ddl(const char *sql) {
    size_t cap = strlen(sql) * 2 + 16, k = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    const char *prev = "";
    size_t prev_n = 0;
    char quote = 0;
    for (const char *p = sql; *p;) {
        if (quote || *p == '\'' || *p == '"') {
            if (!quote) quote = *p;
            else if (*p == quote) quote = 0;
            out[k++] = *p++;
            continue;
        }
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_')) {
            out[k++] = *p++;
            continue;
        }
        size_t n = 0;
        while ((p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= 'a' && p[n] <= 'z') || p[n] == '_' ||
               (p[n] >= '0' && p[n] <= '9'))
            n++;
        const char *rep = NULL;
        if (word_is(p, n, "INTEGER")) {
            rep = word_is(prev, prev_n, "id") && !strncasecmp(p + n, " PRIMARY KEY", 12) ? "BIGSERIAL" : "BIGINT";
        } else if (word_is(p, n, "REAL")) {
            rep = "DOUBLE PRECISION";
        } else if (word_is(p, n, "BLOB")) {
            rep = "BYTEA";
        } else if (word_is(p, n, "AUTOINCREMENT")) {
            rep = "";
        }
        if (rep) k += (size_t)snprintf(out + k, cap - k, "%s", rep);
        else {
            memcpy(out + k, p, n);
            k += n;
        }
        prev = p;
        prev_n = n;
        p += n;
    }
    out[k] = '\0';
    return out;
}

static int pg_exec_ddl(genbo__db *d, const char *sql) {
    char *t = translate_ddl(sql);
    if (!t) return GENBO__DB_ERROR;
    int rc = pg_exec(d, t);
    free(t);
    return rc;
}

/* After rows were inserted with their own ids (genbo copy): the next
 * bigserial id comes after them. */
static int pg_sync_ids(genbo__db *d, const char *table) {
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT setval(pg_get_serial_sequence('%s', 'id'), "
             "coalesce((SELECT max(id) FROM %s), 0) + 1, false)", table, table);
    char out[64];
    return one(d, sql, NULL, out, sizeof out);
}

static int pg_prepare_writes(genbo__db *d) {
    (void)d;
    return GENBO__DB_OK;
}

static int pg_data_version(genbo__db *d, int64_t *out) {
    return one_int(d, "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint", NULL, out);
}

static int pg_try_lock(genbo__db *d, const char *name, int *got) {
    pg_db *db = DB(d);
    int64_t v = 0;
    int rc = one_int(d, "SELECT pg_try_advisory_lock(1735288431, hashtext($1))", name, &v);
    *got = !rc && v;
    if (*got) {
        char **l = realloc(db->locks, (db->n_locks + 1) * sizeof *l);
        char *c = strdup(name);
        if (!l || !c) {
            free(c);
            if (l) db->locks = l;
            return GENBO__DB_ERROR;
        }
        db->locks = l;
        db->locks[db->n_locks++] = c;
    }
    return rc;
}

static int pg_unlock(genbo__db *d, const char *name) {
    pg_db *db = DB(d);
    for (size_t i = 0; i < db->n_locks; i++)
        if (!strcmp(db->locks[i], name)) {
            free(db->locks[i]);
            db->locks[i] = db->locks[--db->n_locks];
            break;
        }
    int64_t v;
    return one_int(d, "SELECT pg_advisory_unlock(1735288431, hashtext($1))", name, &v);
}

static void pg_close(genbo__db *d) {
    pg_db *db = DB(d);
    PQfinish(db->conn);
    for (size_t i = 0; i < db->n_locks; i++) free(db->locks[i]);
    free(db->locks);
    log_clear(db);
    free(db->log);
    pthread_mutex_destroy(&db->mu);
    free(db);
}

static const genbo__db_ops pg_ops = {
    "postgresql", pg_close, pg_errmsg, pg_prepare, pg_bind_int64, pg_bind_double, pg_bind_null,
    pg_bind_text, pg_bind_blob, pg_bind_parameter_count, pg_clear_bindings, pg_step, pg_reset,
    pg_finalize, pg_column_count, pg_column_name, pg_column_type, pg_column_int64, pg_column_double,
    pg_column_text, pg_column_blob, pg_column_bytes, pg_exec, pg_changes, pg_last_insert_id, pg_in_txn,
    pg_begin_write, pg_begin_read, pg_schema_version, pg_set_schema_version, pg_table_count,
    pg_has_table, pg_exec_ddl, pg_prepare_writes, pg_sync_ids, pg_data_version, pg_try_lock, pg_unlock,
};

/* A refused connection (server starting, restarting or not up yet) is
 * worth a few more tries; a wrong password or database is not. */
static int worth_retrying(const char *msg) {
    return msg && (strstr(msg, "Connection refused") || strstr(msg, "starting up") ||
                   strstr(msg, "shutting down") || strstr(msg, "No such file or directory") ||
                   strstr(msg, "in recovery mode"));
}

int genbo__db_pg_connect(const char *url, int readonly, genbo__db **out) {
    *out = NULL;
    pg_db *db = calloc(1, sizeof *db);
    if (!db) return genbo__fail(GENBO_ENOMEM, "out of memory");
    db->base.ops = &pg_ops;
    db->readonly = readonly;
    genbo__db_mask(url, db->base.label, sizeof db->base.label);
    pthread_mutex_init(&db->mu, NULL);
    double start = now_s(), wait = 0.05;
    for (;;) {
        db->conn = PQconnectdb(url);
        if (db->conn && PQstatus(db->conn) == CONNECTION_OK) break;
        const char *msg = db->conn ? PQerrorMessage(db->conn) : "out of memory";
        if (!worth_retrying(msg) || now_s() - start + wait > CONNECT_SECONDS) {
            set_err(db, NULL, msg);
            int rc = genbo__fail(GENBO_ENOTFOUND, "%s: cannot connect to the PostgreSQL server: %s",
                                 db->base.label, db->err);
            PQfinish(db->conn);
            pthread_mutex_destroy(&db->mu);
            free(db);
            return rc;
        }
        PQfinish(db->conn);
        db->conn = NULL;
        sleep_s(wait);
        wait = wait * 2 > 1.0 ? 1.0 : wait * 2;
    }
    PQsetNoticeProcessor(db->conn, quiet, NULL);
    if (!session_setup(db)) {
        int rc = genbo__fail(GENBO_EDB, "%s: %s", db->base.label, db->err);
        pg_close(&db->base);
        return rc;
    }
    *out = &db->base;
    return GENBO_OK;
}

#endif
