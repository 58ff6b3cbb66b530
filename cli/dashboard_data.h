/* dashboard_data.h - the study database as JSON documents for the
 * dashboards (`genbo report` and `genbo serve` render the same documents
 * with the same template), on the library's read API.
 *
 * Read-only by construction: the database is a genbo_db (opened
 * read-only) and every builder reads inside one snapshot
 * (genbo_db_read_begin), so a document is consistent and never blocks a
 * writer. The layout of the documents is in docs/dashboard.md. Errors:
 * a status, and the message in cli_errmsg() (cli.h). */
#ifndef GENBO_CLI_DASHBOARD_DATA_H
#define GENBO_CLI_DASHBOARD_DATA_H

#include <cjson/cJSON.h>
#include "genbo.h"

/* Version of the document layout (bumped when a key changes meaning). */
#define DASHBOARD_DOC_VERSION 1

/* Open an existing study database read-only (never creates a file).
 * GENBO_EIO if it cannot be opened, GENBO_EFORMAT if it is not a genbo
 * study database. *out is closed with genbo_db_close(). */
int dashboard_db_open(const char *path, genbo_db **out);

/* {"studies": [{"id","name","dim","created","runs","running","trials",
 *   "asked","told","failed","last_activity"}, ...]} ordered by name. */
int dashboard_studies_json(genbo_db *db, cJSON **out);

/* genbo_db_data_version: it changes whenever another connection commits,
 * so an unchanged value means an unchanged database (the live page polls
 * cheaply with it). */
int dashboard_data_version(genbo_db *db, long long *out);

/* The document of one study (study, runs, targets, metrics, summary,
 * rounds, reward_samples, trials, counts, data_version). GENBO_ENOTFOUND if there is no
 * study of that name. */
int dashboard_study_json(genbo_db *db, const char *name, cJSON **out);

/* A whole report: {"version","generated","db","studies":[...],
 * "docs":{name: study document}}; only_study (may be NULL = all studies)
 * restricts it to one study (GENBO_ENOTFOUND if unknown). */
int dashboard_report_json(genbo_db *db, const char *db_label, const char *only_study,
                          cJSON **out);

/* Print a document for embedding in HTML or sending over HTTP: compact,
 * numbers round-trip exactly (cJSON prints %.17g when %.15g would lose
 * bits), and every '<' is written as \u003c so the text can never close
 * a <script> element. malloc'ed; NULL on allocation failure. */
char *dashboard_json_print(const cJSON *doc);

#endif
