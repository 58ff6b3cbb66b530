/* run_lock.c - one `genbo run` of a study at a time: two processes
 * resuming the same unfinished run would both generate its batches. An
 * flock on a file beside the database marks the owner; the kernel drops it
 * when the process ends, even by SIGKILL, so a killed run can always be
 * resumed. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/core.h"
#include "studies/study.h"

/* The study name as a file-name part: bytes other than [A-Za-z0-9._-]
 * percent-encoded (a '/' in a name must not make a path), long names cut
 * and tagged with their CRC so the name stays under NAME_MAX. */
static void lock_name(const char *name, char *out, size_t size) {
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p && k + 4 < size && k < 120; p++) {
        if (isalnum(*p) || *p == '.' || *p == '_' || *p == '-') out[k++] = (char)*p;
        else k += (size_t)snprintf(out + k, size - k, "%%%02X", *p);
    }
    out[k] = '\0';
    if (k >= 120) snprintf(out + 100, size - 100, "~%08x", (unsigned)genbo__crc32(0, name, strlen(name)));
}

void genbo__run_lock_path(const char *db_path, const char *name, char *out, size_t size) {
    char part[160];
    lock_name(name, part, sizeof part);
    snprintf(out, size, "%s.%s.runlock", db_path, part);
}

int genbo__run_lock(genbo_study *s, int *lock_fd) {
    char path[4096];
    genbo__run_lock_path(s->db_path, s->name, path, sizeof path);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return genbo__fail(GENBO_EIO, "%s: cannot create the run lock: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int busy = errno == EWOULDBLOCK;
        close(fd);
        if (busy)
            return genbo__fail(GENBO_ESTATE, "study '%s' in %s is being run by another process (lock %s)",
                               s->name, s->db_path, path);
        return genbo__fail(GENBO_EIO, "%s: cannot lock: %s", path, strerror(errno));
    }
    *lock_fd = fd;
    return GENBO_OK;
}

