/* dashboard_data.h - the study database as JSON documents for the
 * dashboards (`genbo report` and `genbo serve` render the same documents
 * with the same template).
 *
 * Read-only by construction: the connection is opened with
 * SQLITE_OPEN_READONLY and every builder runs its queries inside one
 * deferred read transaction, so a document is a consistent snapshot and
 * never blocks a writer in WAL mode. The layout of the documents is in
 * docs/dashboard.md. Errors go through genbo_errmsg() like the library's. */
#ifndef GENBO_CLI_DASHBOARD_DATA_H
#define GENBO_CLI_DASHBOARD_DATA_H

#include <cjson/cJSON.h>

#include "studies/db.h"

/* Version of the document layout (bumped when a key changes meaning). */
#define DASHBOARD_DOC_VERSION 1

/* Open an existing study database read-only (never creates a file).
 * GENBO_EIO if it cannot be opened, GENBO_EFORMAT if it is not a genbo
 * study database. *out is closed with genbo__db_close(). */
int dashboard_db_open(const char *path, genbo__db **out);

/* {"studies": [{"id","name","dim","created","runs","running","trials",
 *   "asked","told","failed","last_activity"}, ...]} ordered by name. */
int dashboard_studies_json(genbo__db *db, cJSON **out);

/* SQLite's PRAGMA data_version of this connection: it changes whenever
 * another connection commits, so an unchanged value means an unchanged
 * database (the live page polls cheaply with it). */
int dashboard_data_version(genbo__db *db, long long *out);

/* The document of one study (study, runs, targets, metrics, summary,
 * rounds, reward_samples, trials, counts, data_version). GENBO_ENOTFOUND if there is no
 * study of that name. */
int dashboard_study_json(genbo__db *db, const char *name, cJSON **out);

/* A whole report: {"version","generated","db","studies":[...],
 * "docs":{name: study document}}; only_study (may be NULL = all studies)
 * restricts it to one study (GENBO_ENOTFOUND if unknown). */
int dashboard_report_json(genbo__db *db, const char *db_label, const char *only_study,
                          cJSON **out);

/* Print a document for embedding in HTML or sending over HTTP: compact,
 * numbers round-trip exactly (cJSON prints %.17g when %.15g would lose
 * bits), and every '<' is written as \u003c so the text can never close
 * a <script> element. malloc'ed; NULL on allocation failure. */
char *dashboard_json_print(const cJSON *doc);

#endif
