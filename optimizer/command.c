/* command.c - fork/exec a shell command, feed it and read it with poll,
 * enforce a time-out. See command.h for the guarantees. */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "optimizer/command.h"

void genbo__cmd_result_free(genbo__cmd_result *res) {
    if (!res) return;
    free(res->out);
    res->out = NULL;
    res->out_len = 0;
}

static void close_fd(int *fd) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
}

static int set_nonblock(int fd) {
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Child side, between fork and exec: only async-signal-safe calls. */
static void child_exec(const char *cmd, int in_fd, int out_fd, int err_fd) {
    setpgid(0, 0); /* own group: a time-out kills it and its children */
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) _exit(126);
    closefrom(3);
    /* The parent may ignore SIGPIPE or block signals; the evaluator should
     * start with default dispositions and an empty mask. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
}

/* Append up to len bytes to a growing buffer, NUL-terminated. */
static int buf_append(char **buf, size_t *len, size_t *cap, const char *src, size_t n) {
    if (genbo__grow(buf, cap, *len + n + 1, 1, "the command's output")) return -1;
    memcpy(*buf + *len, src, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

static void kill_group(pid_t pid) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL); /* in case setpgid had not happened yet */
}

int genbo__cmd_run(const char *cmd, const char *input, size_t input_len, double timeout_s,
                   size_t max_out, genbo__cmd_result *res) {
    if (!cmd || !*cmd || !res || !(timeout_s > 0) || (input_len && !input))
        return genbo__fail(GENBO_EINVAL, "command: empty command, or time-out not > 0");
    memset(res, 0, sizeof *res);
    int in_s[2] = {-1, -1}, out_p[2] = {-1, -1}, err_p[2] = {-1, -1};
    /* stdin is a socket so that writing to a child that stopped reading
     * gives EPIPE through MSG_NOSIGNAL instead of killing us with SIGPIPE. */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_s) < 0 ||
        pipe2(out_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0) {
        int e = errno;
        close_fd(&in_s[0]), close_fd(&in_s[1]), close_fd(&out_p[0]), close_fd(&out_p[1]);
        close_fd(&err_p[0]), close_fd(&err_p[1]);
        return genbo__fail(GENBO_EIO, "command: cannot create pipes: %s", strerror(e));
    }
    /* A caller with 0, 1 or 2 closed may get them here; move the child's
     * ends above 2 so the dup2 calls in the child cannot clobber each other. */
    int *child_end[3] = {&in_s[1], &out_p[1], &err_p[1]};
    for (int k = 0; k < 3; k++)
        if (*child_end[k] < 3) {
            int moved = fcntl(*child_end[k], F_DUPFD_CLOEXEC, 3);
            if (moved >= 0) close(*child_end[k]), *child_end[k] = moved;
        }
    double t_start = genbo__now();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close_fd(&in_s[0]), close_fd(&in_s[1]), close_fd(&out_p[0]), close_fd(&out_p[1]);
        close_fd(&err_p[0]), close_fd(&err_p[1]);
        return genbo__fail(GENBO_EIO, "command: fork failed: %s", strerror(e));
    }
    if (pid == 0) child_exec(cmd, in_s[1], out_p[1], err_p[1]);
    setpgid(pid, pid); /* both sides set it: no race with kill_group */
    close_fd(&in_s[1]), close_fd(&out_p[1]), close_fd(&err_p[1]);
    int in_fd = in_s[0], out_fd = out_p[0], err_fd = err_p[0];
    set_nonblock(in_fd), set_nonblock(out_fd), set_nonblock(err_fd);
    if (input_len == 0) close_fd(&in_fd);

    double deadline = t_start + timeout_s;
    size_t written = 0, out_cap = 0, err_len = 0;
    int nomem = 0;
    char chunk[65536];
    while (in_fd >= 0 || out_fd >= 0 || err_fd >= 0) {
        double left = deadline - genbo__now();
        if (left <= 0) {
            res->timed_out = 1;
            break;
        }
        struct pollfd pf[3];
        int np = 0, i_in = -1, i_out = -1, i_err = -1;
        if (in_fd >= 0) i_in = np, pf[np++] = (struct pollfd){in_fd, POLLOUT, 0};
        if (out_fd >= 0) i_out = np, pf[np++] = (struct pollfd){out_fd, POLLIN, 0};
        if (err_fd >= 0) i_err = np, pf[np++] = (struct pollfd){err_fd, POLLIN, 0};
        int ms = (int)ceil(left * 1000.0);
        int pr = poll(pf, (nfds_t)np, ms > 0 ? ms : 1);
        if (pr < 0) {
            if (errno == EINTR) continue;
            res->timed_out = 1; /* cannot wait any more: treat as a time-out */
            break;
        }
        if (i_in >= 0 && pf[i_in].revents) {
            ssize_t w = send(in_fd, input + written, input_len - written,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0) written += (size_t)w;
            else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                close_fd(&in_fd); /* child closed its input: stop feeding */
            if (written == input_len) close_fd(&in_fd); /* EOF for the child */
        }
        if (i_out >= 0 && pf[i_out].revents) {
            ssize_t r = read(out_fd, chunk, sizeof chunk);
            if (r > 0) {
                if (res->out_len + (size_t)r > max_out) {
                    res->too_much = 1;
                    break;
                }
                if (buf_append(&res->out, &res->out_len, &out_cap, chunk, (size_t)r) < 0) {
                    nomem = 1;
                    break;
                }
            } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                close_fd(&out_fd);
            }
        }
        if (i_err >= 0 && pf[i_err].revents) {
            ssize_t r = read(err_fd, chunk, sizeof chunk);
            if (r > 0) {
                size_t keep = GENBO__CMD_ERR_MAX - err_len;
                if ((size_t)r < keep) keep = (size_t)r;
                memcpy(res->err + err_len, chunk, keep);
                err_len += keep;
            } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                close_fd(&err_fd);
            }
        }
    }
    res->err[err_len] = '\0';
    close_fd(&in_fd), close_fd(&out_fd), close_fd(&err_fd);

    /* Output closed: wait for the exit until the deadline. */
    int status = 0, reaped = 0;
    while (!res->timed_out && !res->too_much && !nomem) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            reaped = 1;
            break;
        }
        if (w < 0 && errno != EINTR) break;
        if (genbo__now() >= deadline) {
            res->timed_out = 1;
            break;
        }
        struct timespec ts = {0, 2000000}; /* 2 ms */
        nanosleep(&ts, NULL);
    }
    if (!reaped) {
        kill_group(pid);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    }
    res->seconds = genbo__now() - t_start;
    if (nomem) {
        genbo__cmd_result_free(res);
        return genbo__fail(GENBO_ENOMEM, "command: out of memory reading its output");
    }
    if (reaped) {
        if (WIFEXITED(status)) res->exited = 1, res->exit_status = WEXITSTATUS(status);
        else if (WIFSIGNALED(status)) res->signaled = 1, res->signo = WTERMSIG(status);
    }
    if (!res->out) { /* always hand back a string */
        res->out = malloc(1);
        if (!res->out) return genbo__fail(GENBO_ENOMEM, "command: out of memory");
        res->out[0] = '\0';
    }
    return GENBO_OK;
}
