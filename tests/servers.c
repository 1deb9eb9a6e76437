/*
 * tests/servers.c: starting and stopping the test SMTP servers, the test
 * certificates, and a bare SMTP dialog over a socket (see servers.h).
 *
 * The servers are separate Python processes rather than threads in the test
 * so that the server under test is aiosmtpd, a maintained implementation,
 * and not code written alongside the client it is meant to check.
 */
#include "tests/servers.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "core/xmalloc.h"

#define STOP_TIMEOUT_MS		5000
#define REPLY_TIMEOUT_MS	10000

struct tu_server {
	pid_t			 pid;
	int			 port;
	char			*dir;		/* holds the server's stderr */
	char			*errpath;
	struct tu_server	*next;
};

/* Servers still running, stopped at exit if a failed assertion skipped
 * the test's own tu_server_stop(). */
static struct tu_server *live;
static char *certs;
/* tu_refused_port()'s sockets: bound, never listening, closed at exit. */
static int refusing[8];
static size_t nrefusing;


static void
cleanup_at_exit(void)
{
	while (live != NULL)
		tu_server_stop(live);
	while (nrefusing > 0)
		close(refusing[--nrefusing]);
	if (certs != NULL) {
		tu_rmtree(certs);
		free(certs);
		certs = NULL;
	}
}

static void
register_cleanup(void)
{
	static bool done;

	if (!done) {
		atexit(cleanup_at_exit);
		done = true;
	}
}

static bool
ci_mode(void)
{
	const char *ci = getenv("CI");

	return ci != NULL && strcmp(ci, "true") == 0;
}

void
tu_require_servers(void)
{
	static const char *missing;
	static bool checked;

	if (!checked) {
		static const char *const py[] = { TU_PYTHON, "-c", "import aiosmtpd", NULL };
		static const char *const ct[] = { "certtool", "--version", NULL };
		static const char *const cli[] = { "gnutls-cli", "--version", NULL };
		struct tu_run r;

		checked = true;
		if (access(TU_PYTHON, X_OK) != 0) {
			missing = TU_PYTHON " (Debian python3)";
		} else {
			tu_run_cmd(&r, NULL, py);
			if (r.status != 0)
				missing = "python3-aiosmtpd for " TU_PYTHON;
			tu_run_free(&r);
		}
		if (missing == NULL) {
			tu_run_cmd(&r, NULL, ct);
			if (r.status != 0)
				missing = "certtool (gnutls-bin)";
			tu_run_free(&r);
		}
		if (missing == NULL) {
			tu_run_cmd(&r, NULL, cli);
			if (r.status != 0)
				missing = "gnutls-cli (gnutls-bin)";
			tu_run_free(&r);
		}
	}
	if (missing == NULL)
		return;
	if (ci_mode())
		cr_assert_fail("CI=true and %s is not installed", missing);
	cr_skip_test("%s is not installed", missing);
}

struct tu_server *
tu_server_start(const char *script, const char *const *args)
{
	const char *root = getenv("GWSMTP_SOURCE_ROOT");
	struct tu_server *s;
	const char **argv;
	char *path, line[64];
	size_t nargs = 0, len = 0;
	long long deadline;
	pid_t parent = getpid();
	int out[2];

	tu_require_servers();
	cr_assert_not_null(root, "GWSMTP_SOURCE_ROOT is not set (run through meson test)");
	while (args != NULL && args[nargs] != NULL)
		nargs++;
	path = xasprintf("%s/tests/servers/%s", root, script);
	argv = xcalloc(nargs + 5, sizeof *argv);
	argv[0] = TU_PYTHON;
	argv[1] = path;
	argv[2] = "--port";
	argv[3] = "0";
	if (nargs > 0)
		memcpy(argv + 4, args, nargs * sizeof *argv);

	s = xcalloc(1, sizeof *s);
	s->dir = tu_tmpdir();
	s->errpath = xasprintf("%s/stderr", s->dir);
	cr_assert(pipe2(out, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
	fflush(NULL);
	s->pid = fork();
	cr_assert(s->pid != -1, "fork: %s", strerror(errno));
	if (s->pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		int err = open(s->errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		/* A test that dies must not leave its server behind. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		dup2(null, 0);
		dup2(out[1], 1);
		dup2(err, 2);
		execv(TU_PYTHON, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	free(argv);
	s->next = live;
	live = s;
	register_cleanup();

	/* Byte by byte, so nothing after the PORT line is consumed. */
	deadline = tu_now_ms() + TU_SETTLE_MS;
	while (len < sizeof line - 1) {
		struct pollfd pfd = { out[0], POLLIN, 0 };
		long long left = deadline - tu_now_ms();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
		n = read(out[0], line + len, 1);
		if (n <= 0)
			break;
		if (line[len] == '\n')
			break;
		len++;
	}
	line[len] = '\0';
	close(out[0]);
	if (sscanf(line, "PORT %d", &s->port) != 1 || s->port <= 0) {
		char *err;

		kill(s->pid, SIGKILL);
		err = tu_server_stderr(s);
		cr_assert_fail("%s did not start (stdout \"%s\"): %s", path, line,
		    err != NULL ? err : "");
	}
	free(path);
	return s;
}

int
tu_server_port(const struct tu_server *s)
{
	return s->port;
}

char *
tu_server_stderr(const struct tu_server *s)
{
	char *err = tu_read_file(s->errpath, NULL);

	return err != NULL ? err : xstrdup("");
}

void
tu_server_stop(struct tu_server *s)
{
	struct tu_server **pp;
	long long deadline;
	int status;

	if (s == NULL)
		return;
	for (pp = &live; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	kill(s->pid, SIGTERM);
	deadline = tu_now_ms() + STOP_TIMEOUT_MS;
	while (waitpid(s->pid, &status, WNOHANG) == 0) {
		struct timespec tick = { 0, 10 * 1000 * 1000 };

		if (tu_now_ms() >= deadline) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, &status, 0);
			break;
		}
		nanosleep(&tick, NULL);
	}
	tu_rmtree(s->dir);
	free(s->dir);
	free(s->errpath);
	free(s);
}

char *
tu_certs_dir(void)
{
	const char *root;
	char *script;
	struct tu_run r;

	if (certs != NULL)
		return certs;
	tu_require_servers();
	root = getenv("GWSMTP_SOURCE_ROOT");
	cr_assert_not_null(root, "GWSMTP_SOURCE_ROOT is not set (run through meson test)");
	script = xasprintf("%s/tests/servers/make_certs.sh", root);
	certs = tu_tmpdir();
	register_cleanup();
	{
		const char *const argv[] = { "bash", script, certs, NULL };

		tu_run_cmd(&r, NULL, argv);
	}
	cr_assert(r.status == 0 && r.out[0] == '\0' && r.err[0] == '\0',
	    "make_certs.sh exited %d: %s%s", r.status, r.out, r.err);
	tu_run_free(&r);
	free(script);
	return certs;
}

char *
tu_cert(const char *name)
{
	return xasprintf("%s/%s", tu_certs_dir(), name);
}

int
tu_connect(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert(fd != -1, "socket: %s", strerror(errno));
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0,
	    "connect 127.0.0.1:%d: %s", port, strerror(errno));
	return fd;
}

void
tu_send(int fd, const char *str)
{
	size_t len = strlen(str);

	while (len > 0) {
		ssize_t n = send(fd, str, len, MSG_NOSIGNAL);

		cr_assert(n > 0, "send: %s", n < 0 ? strerror(errno) : "closed");
		str += n;
		len -= (size_t)n;
	}
}

char *
tu_smtp_reply(int fd, char **partial)
{
	long long deadline = tu_now_ms() + REPLY_TIMEOUT_MS;
	size_t len = 0, cap = 256, bol = 0;
	char *buf = xmalloc(cap);

	/* Byte by byte: a reply must not swallow bytes sent after it. */
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		long long left = deadline - tu_now_ms();
		char c;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0 || read(fd, &c, 1) != 1)
			break;
		if (len + 2 > cap)
			buf = xreallocarray(buf, cap *= 2, 1);
		buf[len++] = c;
		if (c != '\n')
			continue;
		/* "ddd " or "ddd\r\n" ends the reply; "ddd-" continues it. */
		if (len - bol >= 5 && buf[bol + 3] != '-') {
			buf[len] = '\0';
			if (partial != NULL)
				*partial = NULL;
			return buf;
		}
		bol = len;
	}
	buf[len] = '\0';
	if (partial != NULL)
		*partial = buf;
	else
		free(buf);
	return NULL;
}

char *
tu_smtp_cmd(int fd, const char *line)
{
	char *cmd = xasprintf("%s\r\n", line), *partial, *reply;

	tu_send(fd, cmd);
	free(cmd);
	reply = tu_smtp_reply(fd, &partial);
	cr_assert_not_null(reply, "no complete reply to \"%s\"; got \"%s\"", line, partial);
	return reply;
}

char *
tu_read_for(int fd, int ms, const char *until, size_t *lenp, bool *eof)
{
	long long deadline = tu_now_ms() + ms;
	size_t len = 0;
	char *buf = xstrdup("");

	*eof = false;
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		long long left = deadline - tu_now_ms();

		if (until != NULL && strstr(buf, until) != NULL)
			break;
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
		if (!tu_drain(fd, &buf, &len)) {
			*eof = true;
			break;
		}
	}
	if (lenp != NULL)
		*lenp = len;
	return buf;
}

/* A TCP socket bound to a port of 127.0.0.1 the kernel chose; *port set. */
static int
bound_socket(int *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof sin;
	int fd;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(fd != -1, "socket: %s", strerror(errno));
	cr_assert(bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0,
	    "bind: %s", strerror(errno));
	cr_assert(getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

int
tu_free_port(void)
{
	int port;

	close(bound_socket(&port));
	return port;
}

int
tu_refused_port(void)
{
	int port, fd = bound_socket(&port);

	cr_assert(nrefusing < sizeof refusing / sizeof refusing[0]);
	refusing[nrefusing++] = fd;
	register_cleanup();
	return port;
}
