/* test_serve_limits.c - `genbo serve` under held connections (issue 10.10):
 * ~1,000 connections trickling header bytes used to stall the server (no
 * connection limit, select() past 1,024 descriptors, and every trickled
 * byte reset MHD's inactivity timeout). Here 1,100 connections trickle a
 * byte every 0.3 s, far more than --max-connections, and a fresh request
 * must still be answered at once; every trickler must be closed by the
 * deadline although it never goes quiet. Loopback only, bounded in count
 * and time. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "study_fixture.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* A whole GET on a fresh connection: the status line, or "" on failure. */
static void fresh_get(int port, char *status, size_t size) {
    status[0] = '\0';
    int fd = connect_to(port);
    if (fd < 0) return;
    const char *req = "GET /api/studies HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
        close(fd);
        return;
    }
    struct pollfd p = {fd, POLLIN, 0};
    size_t k = 0;
    while (k + 1 < size && poll(&p, 1, 3000) == 1) {
        ssize_t r = read(fd, status + k, size - 1 - k);
        if (r <= 0) break;
        k += (size_t)r;
        if (memchr(status, '\n', k)) break;
    }
    status[k] = '\0';
    char *nl = strchr(status, '\r');
    if (nl) *nl = '\0';
    close(fd);
}

Test(serve_limits, held_trickling_connections_never_lock_out_a_fresh_request, .init = fixture_make_dir,
     .timeout = 60) {
    enum { HELD = 1100 };
    struct rlimit rl;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < HELD + 64) cr_skip_test("RLIMIT_NOFILE too small");
    if (rl.rlim_cur < HELD + 64) {
        rl.rlim_cur = HELD + 64;
        cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    /* a database for the server: an empty genbo one is enough */
    FIXTURE_PATH(db, "serve.db");
    fixture_write("mini.ini", "[study]\nname = s\n[data]\nD = 2\nd = 1\nn_label = 10\nn_unlabel = 20\n"
                              "[diffusion]\nwidth = 4\ndepth = 1\nt_embed = 2\ny_embed = 2\nsteps = 2\nbatch = 4\n"
                              "[generate]\ntargets = p50\nn = 2\nsteps = 2\nmethods = random\n");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s run %s --db %s --quiet > /dev/null 2>&1", getenv("GENBO_CLI"),
             fixture_path("mini.ini"), db);
    cr_assert_eq(system(cmd), 0);
    int out[2];
    cr_assert_eq(pipe(out), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        execl(getenv("GENBO_CLI"), "genbo", "serve", "--db", db, "--port", "0", "--max-connections", "50",
              "--timeout", "2", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char line[512] = "";
    size_t k = 0;
    while (k + 1 < sizeof line && read(out[0], line + k, 1) == 1 && line[k] != '\n') k++;
    line[k] = '\0';
    const char *colon = strstr(line, "127.0.0.1:");
    cr_assert_not_null(colon, "serve printed '%s'", line);
    int port = atoi(colon + strlen("127.0.0.1:"));
    char status[256];
    fresh_get(port, status, sizeof status);
    cr_assert_str_eq(status, "HTTP/1.1 200 OK", "before: '%s'", status);

    static int fds[HELD];
    int opened = 0;
    for (int i = 0; i < HELD; i++) {
        fds[i] = connect_to(port);
        if (fds[i] >= 0) {
            opened++;
            (void)!write(fds[i], "G", 1);
        }
    }
    cr_assert_gt(opened, 1000, "only %d connections opened", opened);
    /* trickle: one more header byte every 0.3 s on every connection still open */
    const char *trickle = "ET / HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    double t0 = now_s(), answered = -1;
    int step = 0;
    while (now_s() - t0 < 4.5) {
        for (int i = 0; i < HELD; i++)
            if (fds[i] >= 0) {
                char c = trickle[step % (int)strlen(trickle)];
                if (send(fds[i], &c, 1, MSG_NOSIGNAL) != 1) {
                    close(fds[i]);
                    fds[i] = -1;
                }
            }
        step++;
        if (answered < 0 && now_s() - t0 > 0.5) {
            double t = now_s();
            fresh_get(port, status, sizeof status);
            cr_assert_str_eq(status, "HTTP/1.1 200 OK", "with %d held connections: '%s'", opened, status);
            answered = now_s() - t;
        }
        struct timespec ts = {0, 300 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    /* past the 2 s deadline every trickler is closed (a read sees the end) */
    int still_open = 0;
    for (int i = 0; i < HELD; i++)
        if (fds[i] >= 0) {
            fcntl(fds[i], F_SETFL, O_NONBLOCK);
            char buf[256];
            ssize_t r = read(fds[i], buf, sizeof buf);
            if (r < 0 && errno == EAGAIN) still_open++;
            close(fds[i]);
        }
    fprintf(stderr, "serve_limits: %d held connections, fresh request answered in %.3f s, %d still open after "
            "4.5 s of trickling\n", opened, answered, still_open);
    cr_assert_eq(still_open, 0, "%d trickling connections outlived the 2 s deadline", still_open);
    cr_assert_lt(answered, 2.0);
    fresh_get(port, status, sizeof status);
    cr_assert_str_eq(status, "HTTP/1.1 200 OK", "after: '%s'", status);
    kill(pid, SIGTERM);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
