/*
 * tests/test_queue_run.c: gwengine's durable queue end to end: the real
 * "gwengine submit", "run" (--once and as a daemon) and "queue --json"
 * against tests/servers/smtpd.py (aiosmtpd) on loopback, with profiles
 * made by the real gwadmin in a fresh database per test.
 *
 * What is checked is what a user would check: what reached the server
 * (its maildir, each message's Message-ID, and its log of command lines),
 * what "gwengine queue --json" says, exit codes and the log lines.  Never
 * the store itself: a test here must hold whatever the schema becomes.
 *
 * Back-off is in whole seconds (next_attempt has no finer grain), so the
 * retry tests wait for the clock; everything else waits for an observable
 * state with a deadline, never for a fixed time.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "core/base64.h"
#include "core/xmalloc.h"
#include "tests/servers.h"
#include "tests/testutil.h"

/* sysexits.h, spelled out: these numbers are the contract (SPEC 7). */
#define EXIT_USAGE	64
#define EXIT_CONFIG	78

#define MAX_ARGS	64
#define MAX_SERVERS	4
#define MAX_DAEMONS	64
#define MAX_JSON	64

/* Concurrent "gwengine submit" processes in submit_many(). */
#define SUBMIT_PARALLEL	8

#define FROM		"gw@example.com"
#define TO		"reader@example.net"

struct server {
	struct tu_server	*proc;
	int			 port;
	char			*maildir;
	char			*log;
};

struct daemon {
	pid_t	 pid;
	char	*errpath;
};

/* What "gwengine run" said in its last line. */
struct summary {
	int	sent, deferred, failed, held;
};

static char		*dir;
static char		*db;
static struct server	 servers[MAX_SERVERS];
static size_t		 nservers;
static struct daemon	 daemons[MAX_DAEMONS];
static size_t		 ndaemons;
static yajl_val		 jsons[MAX_JSON];
static size_t		 njsons;

static void
setup(void)
{
	dir = tu_tmpdir();
	db = tu_db(dir, "gw.db");
	unsetenv("GWSMTP_DB");
}

static void
teardown(void)
{
	for (size_t i = 0; i < ndaemons; i++) {
		if (daemons[i].pid > 0) {
			kill(daemons[i].pid, SIGKILL);
			waitpid(daemons[i].pid, NULL, 0);
		}
		free(daemons[i].errpath);
	}
	ndaemons = 0;
	for (size_t i = 0; i < nservers; i++) {
		tu_server_stop(servers[i].proc);
		free(servers[i].maildir);
		free(servers[i].log);
	}
	nservers = 0;
	for (size_t i = 0; i < njsons; i++)
		yajl_tree_free(jsons[i]);
	njsons = 0;
	tu_kept_free();
	tu_rmtree(dir);
	free(dir);
	free(db);
}

TestSuite(queue_run, .init = setup, .fini = teardown);



static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Waits until the wall clock reaches t: when a back-off makes it due. */
static void
sleep_until(time_t t)
{
	while (time(NULL) < t)
		sleep_ms(50);
}

/* How many times needle occurs in hay. */
static int
count_of(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/* servers */

/*
 * Starts smtpd.py with --maildir DIR/NAME and --log DIR/NAME.log plus args
 * (NULL-terminated).
 */
static struct server *
serve(const char *name, ...)
{
	const char *args[MAX_ARGS];
	struct server *s;
	size_t n = 0;
	va_list ap;

	cr_assert(nservers < MAX_SERVERS);
	s = &servers[nservers];
	s->maildir = xasprintf("%s/%s", dir, name);
	s->log = xasprintf("%s/%s.log", dir, name);
	args[n++] = "--maildir";
	args[n++] = s->maildir;
	args[n++] = "--log";
	args[n++] = s->log;
	va_start(ap, name);
	while ((args[n] = va_arg(ap, const char *)) != NULL)
		cr_assert(++n < MAX_ARGS);
	va_end(ap);
	s->proc = tu_server_start("smtpd.py", args);
	s->port = tu_server_port(s->proc);
	nservers++;
	return s;
}

static const char *
server_log(const struct server *s)
{
	char *text = tu_read_file(s->log, NULL);

	return tu_keep(text != NULL ? text : xstrdup(""));
}

/* How many logged command lines start with verb (a whole word). */
static int
log_count(const struct server *s, const char *verb)
{
	return tu_count_verb(server_log(s), verb);
}

/* How many messages the server stored (NNNN.eml, numbered from 1). */
static size_t
received(const struct server *s)
{
	size_t k = 0;

	for (;;) {
		char *path = xasprintf("%s/%04zu.eml", s->maildir, k + 1);
		bool there = access(path, F_OK) == 0;

		free(path);
		if (!there)
			return k;
		k++;
	}
}

/* The server's k-th message (1-based): "eml" or "json".  NULL if absent. */
static const char *
mail_file(const struct server *s, size_t k, const char *ext)
{
	char *path = xasprintf("%s/%04zu.%s", s->maildir, k, ext);
	char *text = tu_read_file(path, NULL);

	free(path);
	return text != NULL ? tu_keep(text) : NULL;
}

/* Strips one pair of angle brackets: Message-IDs compared either way. */
static const char *
bare_id(const char *id)
{
	size_t len = strlen(id);

	if (len >= 2 && id[0] == '<' && id[len - 1] == '>')
		return tu_fmt("%.*s", (int)(len - 2), id + 1);
	return id;
}

/* The Message-ID (without brackets) of the server's k-th message. */
static const char *
mail_id(const struct server *s, size_t k)
{
	const char *eml = mail_file(s, k, "eml"), *l;

	cr_assert_not_null(eml, "%s: no message %zu", s->maildir, k);
	for (l = eml; *l != '\0' && !(l[0] == '\r' && l[1] == '\n');) {
		size_t len = strcspn(l, "\r\n");

		if (strncasecmp(l, "Message-ID:", 11) == 0) {
			const char *v = l + 11;

			while (*v == ' ' || *v == '\t')
				v++;
			return bare_id(tu_fmt("%.*s", (int)(len - (size_t)(v - l)),
			    v));
		}
		l += len;
		if (*l == '\r')
			l++;
		if (*l == '\n')
			l++;
	}
	cr_assert_fail("message %zu at %s has no Message-ID:\n%s", k,
	    s->maildir, eml);
	return NULL;
}

/* The size smtpd.py recorded for its k-th message. */
static long long
mail_size(const struct server *s, size_t k)
{
	const char *json = mail_file(s, k, "json"), *p;
	long long size;

	cr_assert_not_null(json);
	p = strstr(json, "\"size\": ");
	cr_assert(p != NULL && sscanf(p + 8, "%lld", &size) == 1, "%s", json);
	return size;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every Message-ID the servers s[0..n) stored, sorted; *count set. */
static const char **
all_ids(struct server *const *s, size_t n, size_t *count)
{
	const char **ids = NULL;
	size_t total = 0;

	for (size_t i = 0; i < n; i++) {
		size_t got = received(s[i]);

		ids = xreallocarray(ids, total + got + 1, sizeof *ids);
		for (size_t k = 1; k <= got; k++)
			ids[total++] = mail_id(s[i], k);
	}
	if (ids == NULL)
		ids = xcalloc(1, sizeof *ids);
	qsort(ids, total, sizeof *ids, cmp_str);
	*count = total;
	tu_keep((char *)ids);
	return ids;
}

/* How often id occurs in the sorted ids[0..n). */
static size_t
times_in(const char **ids, size_t n, const char *id)
{
	size_t lo = 0, hi = n, k = 0;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(ids[mid], id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo + k < n && strcmp(ids[lo + k], id) == 0)
		k++;
	return k;
}

static const char *daemons_err(void);

/* Polls until the server logged verb n times (or more), or fails. */
static void
wait_logged(const struct server *s, const char *verb, int n)
{
	long long ms = TU_SETTLE_MS, deadline = tu_now_ms() + ms;
	int got;

	while ((got = log_count(s, verb)) < n) {
		if (tu_now_ms() >= deadline)
			cr_assert_fail("the server logged %s %d times in %lld ms, "
			    "expected %d; its log:\n%s\n%s", verb, got, ms, n,
			    server_log(s), daemons_err());
		sleep_ms(10);
	}
}

/*
 * DIR/go: for smtpd.py --gate, which holds the end of a message's data
 * until the file exists; open_gate() creates it.
 */
static const char *
gate_path(void)
{
	return tu_fmt("%s/go", dir);
}

static void
open_gate(void)
{
	tu_write_file(gate_path(), "", 0);
}

/* gwadmin */

/* gwadmin --db DB ARGS..., which must succeed. */
static void
admin(const char *first, ...)
{
	va_list ap;

	va_start(ap, first);
	tu_admin_okv(db, NULL, first, ap);
	va_end(ap);
}

/* gwadmin --db DB ARGS... --password-stdin with password on stdin. */
static void
admin_password(const char *password, const char *first, ...)
{
	char *in = xasprintf("%s\n", password);
	const char *argv[MAX_ARGS] = { "--db", db, first };
	struct tu_run r;
	size_t n = 3;
	va_list ap;

	va_start(ap, first);
	while ((argv[n] = va_arg(ap, const char *)) != NULL)
		cr_assert(++n < MAX_ARGS - 2);
	va_end(ap);
	argv[n++] = "--password-stdin";
	argv[n] = NULL;
	tu_gwadmin(&r, in, argv);
	cr_assert_eq(r.status, 0, "gwadmin %s: exit %d\nstderr: %s", first,
	    r.status, r.err);
	tu_run_free(&r);
	free(in);
}

/*
 * Profile NAME sending to s in plain text from FROM to TO, with one
 * connection and a one-second back-off; then (a second gwadmin set, as
 * a key may be given once) the keys given, NULL at the end.
 */
static void
profile_for(const char *name, const struct server *s, ...)
{
	const char *argv[MAX_ARGS] = { "--db", db, "set", name };
	struct tu_run r;
	size_t n = 4;
	va_list ap;

	admin("set", name, "host=127.0.0.1", tu_fmt("port=%d", s->port),
	    "tls=none", "from=" FROM, "to=" TO, "timeout=10",
	    "max_connections=1", "retries=5", "retry_delay=1", "retry_max=1",
	    NULL);
	va_start(ap, s);
	while ((argv[n] = va_arg(ap, const char *)) != NULL)
		cr_assert(++n < MAX_ARGS - 1);
	va_end(ap);
	if (n == 4)
		return;
	tu_gwadmin(&r, NULL, argv);
	cr_assert_eq(r.status, 0, "gwadmin set %s: exit %d\nstderr: %s", name,
	    r.status, r.err);
	tu_run_free(&r);
}

/* gwengine */

static const char *
gwengine(void)
{
	const char *prog = getenv("GWENGINE");

	cr_assert_not_null(prog, "GWENGINE is not set (run through meson test)");
	return prog;
}

/* gwengine --db DB FIRST ARGS... with stdin from in (NULL: empty). */
static struct tu_run
veng(const char *in, const char *first, va_list ap)
{
	const char *argv[MAX_ARGS] = { gwengine(), "--db", db, first };
	struct tu_run r;
	size_t n = 4;

	while ((argv[n] = va_arg(ap, const char *)) != NULL)
		cr_assert(++n < MAX_ARGS);
	/*
	 * tu_run_cmd() ignores SIGPIPE here, and an ignored signal stays
	 * ignored across exec: give gwengine the default a shell gives it.
	 */
	signal(SIGPIPE, SIG_DFL);
	tu_run_cmd(&r, in, argv);
	return r;
}

static struct tu_run
eng(const char *in, const char *first, ...)
{
	struct tu_run r;
	va_list ap;

	va_start(ap, first);
	r = veng(in, first, ap);
	va_end(ap);
	return r;
}

static void
expect_exit(const struct tu_run *r, int want, const char *what)
{
	cr_assert_eq(r->status, want, "gwengine %s: exit %d, expected %d\n"
	    "stdout: %s\nstderr: %s", what, r->status, want, r->out, r->err);
}

/* The queue id "gwengine submit" printed: digits and a newline, only. */
static long long
submit_id(const struct tu_run *r)
{
	size_t digits = strspn(r->out, "0123456789");

	expect_exit(r, 0, "submit");
	cr_assert(digits > 0 && strcmp(r->out + digits, "\n") == 0,
	    "submit printed '%s', not a queue id and a newline", r->out);
	return strtoll(r->out, NULL, 10);
}

/* gwengine submit ARGS... (stdin from in); returns the queue id. */
static long long
submit(const char *in, ...)
{
	struct tu_run r;
	long long id;
	va_list ap;

	va_start(ap, in);
	r = veng(in, "submit", ap);
	va_end(ap);
	id = submit_id(&r);
	tu_run_free(&r);
	return id;
}

/* A complete message whose Message-ID is <TAG-I@gwsmtp.test>. */
static const char *
message_text(const char *tag, size_t i)
{
	return tu_fmt("Date: Mon, 02 Jun 2025 10:00:00 +0000\r\n"
	    "Message-ID: <%s-%zu@gwsmtp.test>\r\n"
	    "From: <" FROM ">\r\n"
	    "To: <" TO ">\r\n"
	    "Subject: %s %zu\r\n"
	    "\r\n"
	    "body of %s %zu\r\n", tag, i, tag, i, tag, i);
}

static const char *
message_id_of(const char *tag, size_t i)
{
	return tu_fmt("%s-%zu@gwsmtp.test", tag, i);
}

/*
 * Submits n messages to profile "p", SUBMIT_PARALLEL processes at a time;
 * ids[i] gets the i-th one's queue id.  With tag, message i is
 * message_text(tag, first + i) through --message; without, a message
 * built from --subject "bulk I" with an empty body.
 */
static void
submit_many(const char *tag, size_t first, size_t n, long long *ids)
{
	const char *prog = gwengine();
	pid_t *pids = xcalloc(n, sizeof *pids);
	size_t next = 0;
	char *sub = xasprintf("%s/submit", dir);

	mkdir(sub, 0700);
	fflush(NULL);
	for (size_t done = 0; done < n; done++) {
		int status;
		struct tu_run r;

		for (; next < n && next < done + SUBMIT_PARALLEL; next++) {
			const char *out = tu_fmt("%s/%zu.out", sub, next);
			const char *err = tu_fmt("%s/%zu.err", sub, next);
			const char *subject = tu_fmt("bulk %zu", first + next);
			const char *msg = NULL;

			/* Everything allocated before the fork. */
			if (tag != NULL) {
				const char *text = message_text(tag,
				    first + next);

				msg = tu_fmt("%s/%s-%zu.eml", sub, tag,
				    first + next);
				tu_write_file(msg, text, strlen(text));
			}
			pids[next] = fork();
			cr_assert(pids[next] != -1, "fork: %s", strerror(errno));
			if (pids[next] == 0) {
				int in = open("/dev/null", O_RDONLY);
				int o = open(out, O_WRONLY | O_CREAT | O_TRUNC,
				    0600);
				int e = open(err, O_WRONLY | O_CREAT | O_TRUNC,
				    0600);

				prctl(PR_SET_PDEATHSIG, SIGKILL);
				signal(SIGPIPE, SIG_DFL);
				dup2(in, 0);
				dup2(o, 1);
				dup2(e, 2);
				if (tag != NULL)
					execl(prog, prog, "--db", db, "submit",
					    "--profile", "p", "--message", msg,
					    (char *)NULL);
				else
					execl(prog, prog, "--db", db, "submit",
					    "--profile", "p", "--subject",
					    subject, (char *)NULL);
				_exit(127);
			}
		}
		/* The oldest first: waitpid(-1) would reap the servers. */
		while (waitpid(pids[done], &status, 0) == -1 && errno == EINTR)
			;
		r.status = WIFEXITED(status) ? WEXITSTATUS(status) :
		    128 + WTERMSIG(status);
		r.out = tu_read_file(tu_fmt("%s/%zu.out", sub, done), NULL);
		r.err = tu_read_file(tu_fmt("%s/%zu.err", sub, done), NULL);
		cr_assert(r.out != NULL && r.err != NULL);
		ids[done] = submit_id(&r);
		tu_run_free(&r);
	}
	free(pids);
	free(sub);
}

/*
 * The summary at the end of run's stderr: "gwengine: run: N sent, N
 * deferred, N failed, N held" must be its last line.
 */
static struct summary
summary_of(const char *err)
{
	const char *last = NULL;
	struct summary s;
	size_t len = strlen(err);
	char tail;

	cr_assert(len > 0 && err[len - 1] == '\n', "stderr does not end with "
	    "a line:\n%s", err);
	for (const char *p = err; (p = strstr(p, "gwengine: run: ")) != NULL;
	    p++)
		if (p == err || p[-1] == '\n')
			last = p;
	cr_assert_not_null(last, "no summary line in:\n%s", err);
	cr_assert(sscanf(last, "gwengine: run: %d sent, %d deferred, %d "
	    "failed, %d held%c", &s.sent, &s.deferred, &s.failed, &s.held,
	    &tail) == 5 && tail == '\n' && last + strcspn(last, "\n") + 1 ==
	    err + len, "the summary is not the last line, as documented:\n%s",
	    err);
	return s;
}

static void
expect_summary(const struct summary *s, int sent, int deferred, int failed,
    int held, const char *err)
{
	cr_assert(s->sent == sent && s->deferred == deferred &&
	    s->failed == failed && s->held == held, "run: %d sent, %d "
	    "deferred, %d failed, %d held; expected %d, %d, %d, %d\n%s",
	    s->sent, s->deferred, s->failed, s->held, sent, deferred, failed,
	    held, err);
}

/* gwengine run --once, which must exit 0; its stderr is kept. */
static struct summary
run_once(const char **err)
{
	struct tu_run r = eng(NULL, "run", "--once", NULL);
	struct summary s;

	expect_exit(&r, 0, "run --once");
	s = summary_of(r.err);
	if (err != NULL)
		*err = tu_keep(r.err);
	else
		free(r.err);
	free(r.out);
	return s;
}

/* The first (or the last) log line of queue id in err (kept), or NULL. */
static const char *
find_log_line(const char *err, long long id, bool last)
{
	const char *want = tu_fmt("gwengine: queue=%lld ", id), *p = err;
	const char *found = NULL;

	while ((p = strstr(p, want)) != NULL) {
		if (p == err || p[-1] == '\n') {
			found = tu_fmt("%.*s", (int)strcspn(p, "\n"), p);
			if (!last)
				break;
		}
		p++;
	}
	return found;
}

static const char *
log_line(const char *err, long long id)
{
	return find_log_line(err, id, false);
}

static const char *
last_log_line(const char *err, long long id)
{
	return find_log_line(err, id, true);
}

static void
summary_add(struct summary *sum, const struct summary *more)
{
	sum->sent += more->sent;
	sum->deferred += more->deferred;
	sum->failed += more->failed;
	sum->held += more->held;
}

/*
 * The log line says status, and its reply="..." holds the server's reply
 * (the engine may say more around it).
 */
static void
expect_logged(const char *line, const char *status, const char *reply)
{
	const char *r;

	cr_assert_not_null(line, "no log line");
	r = strstr(line, tu_fmt(" status=%s reply=\"", status));
	cr_assert_not_null(r, "not status=%s: %s", status, line);
	cr_assert_not_null(strstr(r, reply), "the reply is not '%s': %s",
	    reply, line);
	cr_assert_eq(line[strlen(line) - 1], '"', "no closing quote: %s", line);
}

/* The daemon: gwengine run, in the background. */

/* gwengine --db DB run ARGS... (args NULL-terminated, or NULL). */
static struct daemon *
daemon_start_args(const char *const *args)
{
	const char *argv[MAX_ARGS] = { gwengine(), "--db", db, "run" };
	struct daemon *d;
	size_t n = 4;

	for (size_t i = 0; args != NULL && args[i] != NULL; i++) {
		cr_assert(n < MAX_ARGS - 1);
		argv[n++] = args[i];
	}
	argv[n] = NULL;

	cr_assert(ndaemons < MAX_DAEMONS);
	d = &daemons[ndaemons];
	d->errpath = xasprintf("%s/daemon-%zu.err", dir, ndaemons);
	ndaemons++;
	fflush(NULL);
	d->pid = fork();
	cr_assert(d->pid != -1, "fork: %s", strerror(errno));
	if (d->pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int e = open(d->errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		sigset_t none;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		dup2(in, 0);
		dup2(e, 1);
		dup2(e, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return d;
}

static struct daemon *
daemon_start(void)
{
	return daemon_start_args(NULL);
}

static const char *
daemon_err(const struct daemon *d)
{
	char *text = tu_read_file(d->errpath, NULL);

	return tu_keep(text != NULL ? text : xstrdup(""));
}

/* Fails the test if the daemon has exited (reaping it). */
static void
daemon_alive(struct daemon *d)
{
	int status = 0;

	if (waitpid(d->pid, &status, WNOHANG) != 0) {
		d->pid = -1;
		cr_assert_fail("gwengine run exited (status 0x%x) on its own:"
		    "\n%s", (unsigned)status, daemon_err(d));
	}
}

/*
 * Waits for the daemon to end (after a signal); returns its exit code,
 * 128+N if killed by signal N.  Fails the test if it does not end.
 */
static int
daemon_wait(struct daemon *d)
{
	long long ms = TU_SETTLE_MS, deadline = tu_now_ms() + ms;
	int status;
	pid_t got;

	while ((got = waitpid(d->pid, &status, WNOHANG)) == 0) {
		if (tu_now_ms() >= deadline) {
			kill(d->pid, SIGKILL);
			waitpid(d->pid, &status, 0);
			d->pid = -1;
			cr_assert_fail("gwengine run did not end within %lld ms "
			    "of its signal:\n%s", ms, daemon_err(d));
		}
		sleep_ms(5);
	}
	cr_assert_eq(got, d->pid);
	d->pid = -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) :
	    128 + WTERMSIG(status);
}

/* Sends sig, then daemon_wait(). */
static int
daemon_stop(struct daemon *d, int sig)
{
	kill(d->pid, sig);
	return daemon_wait(d);
}

/* Polls until the daemon's log has a line holding text, or fails. */
static void
daemon_wait_line(struct daemon *d, const char *text)
{
	long long ms = TU_SETTLE_MS, deadline = tu_now_ms() + ms;

	while (strstr(daemon_err(d), text) == NULL) {
		if (tu_now_ms() >= deadline)
			cr_assert_fail("gwengine run did not say \"%s\" within "
			    "%lld ms:\n%s", text, ms, daemon_err(d));
		sleep_ms(10);
	}
}

/* gwengine queue --json */


static long long
jint(yajl_val v, const char *key)
{
	yajl_val x = tu_jget(v, key);

	cr_assert(x != NULL && YAJL_IS_INTEGER(x), "%s is not an integer",
	    key);
	return YAJL_GET_INTEGER(x);
}

static bool
jnull(yajl_val v, const char *key)
{
	yajl_val x = tu_jget(v, key);

	return x != NULL && YAJL_IS_NULL(x);
}

static time_t
parse_time(const char *s)
{
	struct tm tm = { 0 };
	const char *end = s != NULL ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) :
	    NULL;

	cr_assert(end != NULL && *end == '\0' && strlen(s) == 20,
	    "'%s' is not YYYY-MM-DDTHH:MM:SSZ", s ? s : "(null)");
	return timegm(&tm);
}

static bool
one_of(const char *s, const char *const *words)
{
	for (; s != NULL && *words != NULL; words++)
		if (strcmp(s, *words) == 0)
			return true;
	return false;
}

static const char *const entry_keys[] = { "id", "message_id", "profile",
	"from", "state", "attempts", "held", "submitted", "next_attempt",
	"last_reply", "size", "recipients", NULL };
static const char *const rcpt_keys[] = { "address", "state", "code",
	"reply", NULL };
static const char *const states[] = { "queued", "sending", "deferred",
	"sent", "failed", NULL };
static const char *const rcpt_states[] = { "pending", "sent", "failed",
	NULL };

/* Every key of object o is one of keys, and each of keys is there. */
static void
check_keys(yajl_val o, const char *const *keys, const char *what)
{
	size_t nkeys = 0;

	cr_assert(YAJL_IS_OBJECT(o), "%s is not an object", what);
	for (size_t i = 0; i < YAJL_GET_OBJECT(o)->len; i++)
		cr_assert(one_of(YAJL_GET_OBJECT(o)->keys[i], keys), "%s has "
		    "an undocumented key '%s'", what,
		    YAJL_GET_OBJECT(o)->keys[i]);
	while (keys[nkeys] != NULL) {
		cr_assert_not_null(tu_jget(o, keys[nkeys]), "%s has no '%s'",
		    what, keys[nkeys]);
		nkeys++;
	}
	cr_assert_eq(YAJL_GET_OBJECT(o)->len, nkeys, "%s repeats a key", what);
}

/* One entry of queue --json against the documented form. */
static void
check_entry(yajl_val e)
{
	yajl_val rs = tu_jget(e, "recipients");
	const char *state;
	bool final, pending = false, sent = false;

	check_keys(e, entry_keys, "a queue entry");
	cr_assert(jint(e, "id") > 0);
	cr_assert_not_null(tu_jstr(e, "message_id"));
	cr_assert_not_null(tu_jstr(e, "profile"));
	cr_assert_not_null(tu_jstr(e, "from"));
	state = tu_jstr(e, "state");
	cr_assert(one_of(state, states), "state '%s'", state ? state : "?");
	final = strcmp(state, "sent") == 0 || strcmp(state, "failed") == 0;
	cr_assert(jint(e, "attempts") >= 0);
	cr_assert(YAJL_IS_TRUE(tu_jget(e, "held")) ||
	    YAJL_IS_FALSE(tu_jget(e, "held")), "held is not a boolean");
	parse_time(tu_jstr(e, "submitted"));
	if (final)
		cr_assert(jnull(e, "next_attempt"), "a %s entry has a "
		    "next_attempt", state);
	else
		parse_time(tu_jstr(e, "next_attempt"));
	cr_assert(jnull(e, "last_reply") || tu_jstr(e, "last_reply") != NULL);
	cr_assert(jint(e, "size") > 0);
	cr_assert(YAJL_IS_ARRAY(rs) && YAJL_GET_ARRAY(rs)->len > 0,
	    "recipients is not a non-empty array");
	for (size_t i = 0; i < YAJL_GET_ARRAY(rs)->len; i++) {
		yajl_val r = YAJL_GET_ARRAY(rs)->values[i];
		const char *rstate;

		check_keys(r, rcpt_keys, "a recipient");
		cr_assert_not_null(tu_jstr(r, "address"));
		rstate = tu_jstr(r, "state");
		cr_assert(one_of(rstate, rcpt_states), "recipient state '%s'",
		    rstate ? rstate : "?");
		cr_assert(jnull(r, "code") || YAJL_IS_INTEGER(tu_jget(r, "code")));
		cr_assert(jnull(r, "reply") || tu_jstr(r, "reply") != NULL);
		pending |= strcmp(rstate, "pending") == 0;
		sent |= strcmp(rstate, "sent") == 0;
	}
	if (final)
		cr_assert(!pending, "a %s entry has a pending recipient", state);
	else
		cr_assert(pending, "a %s entry has no pending recipient", state);
	if (strcmp(state, "sent") == 0)
		cr_assert(sent, "a sent entry with no recipient sent");
	if (strcmp(state, "failed") == 0)
		cr_assert(!sent, "a failed entry with a recipient sent");
	if (YAJL_IS_TRUE(tu_jget(e, "held")))
		cr_assert(strcmp(state, "queued") == 0 ||
		    strcmp(state, "deferred") == 0, "a %s entry is held", state);
}

/*
 * gwengine queue --json: checked against the documented form (every
 * entry, oldest first); *text (may be NULL) gets the output.  Freed at
 * teardown unless given to queue_free().
 */
static yajl_val
queue_json(const char **text)
{
	struct tu_run r = eng(NULL, "queue", "--json", NULL);
	char errbuf[256];
	time_t prev = 0;
	yajl_val q;

	expect_exit(&r, 0, "queue --json");
	q = yajl_tree_parse(r.out, errbuf, sizeof errbuf);
	cr_assert_not_null(q, "queue --json is not JSON (%s):\n%s", errbuf,
	    r.out);
	cr_assert(YAJL_IS_ARRAY(q), "queue --json is not an array:\n%s", r.out);
	for (size_t i = 0; i < YAJL_GET_ARRAY(q)->len; i++) {
		yajl_val e = YAJL_GET_ARRAY(q)->values[i];
		time_t t;

		check_entry(e);
		/*
		 * Concurrent submits may read the clock in one order and
		 * commit in the other: a second's slack.
		 */
		t = parse_time(tu_jstr(e, "submitted"));
		cr_assert(t + 1 >= prev, "queue --json is not oldest first:\n%s",
		    r.out);
		if (t > prev)
			prev = t;
	}
	cr_assert(njsons < MAX_JSON);
	jsons[njsons++] = q;
	if (text != NULL)
		*text = tu_keep(r.out);
	else
		free(r.out);
	free(r.err);
	return q;
}

/* Frees a queue_json() result before teardown (for polling loops). */
static void
queue_free(yajl_val q)
{
	for (size_t i = 0; i < njsons; i++)
		if (jsons[i] == q) {
			jsons[i] = jsons[--njsons];
			yajl_tree_free(q);
			return;
		}
	cr_assert_fail("queue_free: not a queue_json() result");
}

static size_t
qlen(yajl_val q)
{
	return YAJL_GET_ARRAY(q)->len;
}

static yajl_val
qat(yajl_val q, size_t i)
{
	return YAJL_GET_ARRAY(q)->values[i];
}

/* The entry with queue id id, failing the test if there is none. */
static yajl_val
entry(yajl_val q, long long id)
{
	for (size_t i = 0; i < qlen(q); i++)
		if (jint(qat(q, i), "id") == id)
			return qat(q, i);
	cr_assert_fail("queue --json has no entry %lld", id);
	return NULL;
}

static bool
is_state(yajl_val e, const char *state)
{
	return strcmp(tu_jstr(e, "state"), state) == 0;
}

static size_t
count_state(yajl_val q, const char *state)
{
	size_t n = 0;

	for (size_t i = 0; i < qlen(q); i++)
		n += is_state(qat(q, i), state);
	return n;
}

static bool
held(yajl_val e)
{
	return YAJL_IS_TRUE(tu_jget(e, "held"));
}

static yajl_val
rcpt(yajl_val e, size_t i)
{
	yajl_val rs = tu_jget(e, "recipients");

	cr_assert(i < YAJL_GET_ARRAY(rs)->len);
	return YAJL_GET_ARRAY(rs)->values[i];
}

static void
expect_entry(yajl_val e, const char *state, long long attempts)
{
	cr_assert(is_state(e, state) && jint(e, "attempts") == attempts,
	    "entry %lld: %s after %lld attempts (last reply '%s'), expected %s "
	    "after %lld", jint(e, "id"), tu_jstr(e, "state"), jint(e, "attempts"),
	    tu_jstr(e, "last_reply") ? tu_jstr(e, "last_reply") : "null", state,
	    attempts);
}

static void
expect_rcpt(yajl_val e, size_t i, const char *addr, const char *state,
    long long code)
{
	yajl_val r = rcpt(e, i);

	cr_assert_str_eq(tu_jstr(r, "address"), addr);
	cr_assert_str_eq(tu_jstr(r, "state"), state, "%s: %s, expected %s", addr,
	    tu_jstr(r, "state"), state);
	if (code == 0)
		cr_assert(jnull(r, "code"), "%s has a code", addr);
	else
		cr_assert_eq(jint(r, "code"), code, "%s: code %lld, expected "
		    "%lld", addr, jint(r, "code"), code);
}

/* What the daemons of this test wrote so far, for a failure message. */
static const char *
daemons_err(void)
{
	const char *all = "";

	for (size_t i = 0; i < ndaemons; i++)
		all = tu_fmt("%s--- gwengine run #%zu:\n%s", all, i,
		    daemon_err(&daemons[i]));
	return all;
}

/*
 * Polls queue --json until entry id is in state, or fails.  Returns the
 * entry (its queue is kept).
 */
static yajl_val
wait_state(long long id, const char *state)
{
	long long ms = TU_SETTLE_MS, deadline = tu_now_ms() + ms;

	for (;;) {
		const char *text;
		yajl_val q = queue_json(&text), e = entry(q, id);

		if (is_state(e, state))
			return e;
		if (tu_now_ms() >= deadline)
			cr_assert_fail("entry %lld is not %s after %lld ms:\n%s"
			    "\n%s", id, state, ms, text, daemons_err());
		queue_free(q);
		sleep_ms(50);
	}
}

/* Polls until entry id is held, or fails. */
static yajl_val
wait_held(long long id)
{
	long long ms = TU_SETTLE_MS, deadline = tu_now_ms() + ms;

	for (;;) {
		const char *text;
		yajl_val q = queue_json(&text), e = entry(q, id);

		if (held(e))
			return e;
		if (tu_now_ms() >= deadline)
			cr_assert_fail("entry %lld is not held after %lld ms:"
			    "\n%s\n%s", id, ms, text, daemons_err());
		queue_free(q);
		sleep_ms(50);
	}
}

/*
 * run --once, each time once entry id's next_attempt has come, until the
 * entry is sent or failed; each run's summary is added to *sum, and *err
 * gets the last run's stderr.
 *
 * next_attempt is in whole seconds, so a message deferred late in a second
 * may be due again a millisecond later, and a run --once that is still
 * going then (a loaded machine makes that likely) rightly makes the next
 * attempt itself: the tests of retries count attempts and outcomes over
 * all the runs, and check the state between two attempts only where a run
 * ended between them.
 */
static void
run_until_final(long long id, struct summary *sum, const char **err)
{
	for (int runs = 0; runs < 16; runs++) {
		yajl_val q = queue_json(NULL), e = entry(q, id);
		struct summary more;
		time_t next;

		if (is_state(e, "sent") || is_state(e, "failed")) {
			queue_free(q);
			return;
		}
		next = parse_time(tu_jstr(e, "next_attempt"));
		queue_free(q);
		sleep_until(next);
		more = run_once(err);
		summary_add(sum, &more);
	}
	cr_assert_fail("entry %lld is neither sent nor failed after 16 runs",
	    id);
}

/* ------------------------------------------------------------------ */

/*
 * What submit queues, before any run: queue --json shows it as it is.
 * Without --profile, the default profile's.
 */
Test(queue_run, submitted_entry)
{
	struct server *s = serve("mail", NULL);
	time_t before = time(NULL), after;
	long long id;
	yajl_val q, e;

	profile_for("p", s, NULL);
	profile_for("other", s, NULL);
	admin("settings", "default_profile=p", NULL);
	id = submit("hello\n", "--from", "other@example.com",
	    "--to", "a@example.net", "--to", "b@example.net", "--subject",
	    "queued", NULL);
	after = time(NULL);
	q = queue_json(NULL);
	cr_assert_eq(qlen(q), 1);
	e = entry(q, id);
	expect_entry(e, "queued", 0);
	cr_assert_str_eq(tu_jstr(e, "profile"), "p");
	cr_assert_str_eq(tu_jstr(e, "from"), "other@example.com");
	cr_assert(!held(e));
	cr_assert(jnull(e, "last_reply"));
	cr_assert(parse_time(tu_jstr(e, "submitted")) >= before &&
	    parse_time(tu_jstr(e, "submitted")) <= after);
	cr_assert(parse_time(tu_jstr(e, "next_attempt")) <= after,
	    "a new message is not due at once");
	expect_rcpt(e, 0, "a@example.net", "pending", 0);
	expect_rcpt(e, 1, "b@example.net", "pending", 0);
	cr_assert(jnull(rcpt(e, 0), "reply"));
	cr_assert_eq(received(s), 0, "submit sent the message itself");
	cr_assert_str_eq(server_log(s), "", "submit talked to the server");
}

/* No such profile: 78 and nothing queued; bad options: 64. */
Test(queue_run, submit_errors)
{
	struct server *s = serve("mail", NULL);
	struct tu_run r;
	yajl_val q;

	profile_for("p", s, NULL);
	r = eng("body\n", "submit", "--profile", "nosuch", NULL);
	expect_exit(&r, EXIT_CONFIG, "submit --profile nosuch");
	cr_assert_str_eq(r.out, "", "printed an id: %s", r.out);
	tu_run_free(&r);
	r = eng("body\n", "submit", "--profile", "p", "--bogus", NULL);
	expect_exit(&r, EXIT_USAGE, "submit --bogus");
	tu_run_free(&r);
	r = eng("body\n", "submit", "--profile", NULL);
	expect_exit(&r, EXIT_USAGE, "submit --profile (no value)");
	tu_run_free(&r);
	r = eng(NULL, "run", "--bogus", NULL);
	expect_exit(&r, EXIT_USAGE, "run --bogus");
	tu_run_free(&r);
	r = eng(NULL, "queue", "--bogus", NULL);
	expect_exit(&r, EXIT_USAGE, "queue --bogus");
	tu_run_free(&r);
	q = queue_json(NULL);
	cr_assert_eq(qlen(q), 0, "a failed submit left a message queued");
	cr_assert_str_eq(server_log(s), "");
}

/*
 * 1. 500 messages through one connection: each received exactly once,
 * each sent, one EHLO.
 */
Test(queue_run, five_hundred_in_one_session)
{
	enum { N = 500 };
	struct server *s = serve("mail", "--pipelining", NULL);
	long long *ids = (long long *)tu_keep(xcalloc(N, sizeof *ids));
	long long t0, t_submit, t_run;
	const char *err, **got;
	struct summary sum;
	size_t ngot;
	yajl_val q;

	profile_for("p", s, NULL);
	t0 = tu_now_ms();
	submit_many(NULL, 0, N, ids);
	t_submit = tu_now_ms() - t0;
	cr_assert_eq(received(s), 0);

	t0 = tu_now_ms();
	sum = run_once(&err);
	t_run = tu_now_ms() - t0;
	cr_log_info("500 submits: %lld ms; run --once: %lld ms", t_submit,
	    t_run);
	expect_summary(&sum, N, 0, 0, 0, err);
	cr_assert_eq(count_of(err, " status=sent reply="), N, "one log line "
	    "per message:\n%s", err);

	cr_assert_eq(received(s), N, "the server stored %zu of %d",
	    received(s), N);
	got = all_ids(&s, 1, &ngot);
	q = queue_json(NULL);
	cr_assert_eq(qlen(q), N);
	for (size_t i = 0; i < N; i++) {
		yajl_val e = entry(q, ids[i]);
		const char *mid = bare_id(tu_jstr(e, "message_id"));

		expect_entry(e, "sent", 1);
		cr_assert_eq(times_in(got, ngot, mid), 1, "%s received %zu "
		    "times", mid, times_in(got, ngot, mid));
		expect_rcpt(e, 0, TO, "sent", 250);
		cr_assert_not_null(log_line(err, ids[i]), "no log line for %lld",
		    ids[i]);
		/* Oldest first: in the order submit handed out the ids. */
		if (i > 0)
			cr_assert(jint(qat(q, i), "id") >
			    jint(qat(q, i - 1), "id"), "not oldest first");
	}
	cr_assert_eq(log_count(s, "EHLO") + log_count(s, "HELO"), 1,
	    "max_connections=1 and 500 messages: %d EHLO", log_count(s,
	    "EHLO"));
	cr_assert_eq(log_count(s, "MAIL"), N);
	cr_log_info("server log: %d RSET, %d QUIT", log_count(s, "RSET"),
	    log_count(s, "QUIT"));
}

/*
 * How many peers (client address and port) the server's stored messages
 * came from: the sessions that carried a message.
 */
static size_t
sessions_that_carried(const struct server *s)
{
	const char **peers = NULL;
	size_t npeers = 0, n = received(s);

	for (size_t k = 1; k <= n; k++) {
		const char *json = mail_file(s, k, "json"), *p;
		const char *peer;
		bool seen = false;

		cr_assert_not_null(json);
		p = strstr(json, "\"peer\": ");
		cr_assert_not_null(p, "%s", json);
		peer = tu_fmt("%.*s", (int)strcspn(p, "\n"), p);
		for (size_t i = 0; i < npeers && !seen; i++)
			seen = strcmp(peers[i], peer) == 0;
		if (!seen) {
			peers = xreallocarray(peers, npeers + 1, sizeof *peers);
			peers[npeers++] = peer;
		}
	}
	free(peers);
	return npeers;
}

/*
 * max_connections=3: three sessions share the profile's queue, each
 * message goes once, and no fourth session is opened.
 *
 * How many sessions a run opens depends on the schedule: a first session
 * that is quick may deliver its share and take the rest before the third
 * has claimed anything, and then two sessions carry the queue, rightly.
 * So the server answers MAIL only once three sessions have been open at
 * once (smtpd.py --wait-sessions, bounded by its --wait-max, below the
 * profile's timeout): an engine that opens its three sessions together
 * passes whatever the scheduler does, one that opens them one after the
 * other does not.
 */
Test(queue_run, max_connections_sessions_share_the_queue)
{
	enum { N = 60 };
	const char *peak = tu_fmt("%s/peak", dir);
	struct server *s = serve("mail", "--pipelining", "--wait-sessions", "3",
	    "--peak", peak, NULL);
	long long *ids = (long long *)tu_keep(xcalloc(N, sizeof *ids));
	const char *err, **got, *most;
	struct summary sum;
	size_t ngot;
	yajl_val q;

	profile_for("p", s, "max_connections=3", "timeout=60", NULL);
	submit_many(NULL, 0, N, ids);
	sum = run_once(&err);
	expect_summary(&sum, N, 0, 0, 0, err);
	got = all_ids(&s, 1, &ngot);
	cr_assert_eq(ngot, N, "the server stored %zu of %d", ngot, N);
	q = queue_json(NULL);
	for (size_t i = 0; i < N; i++) {
		yajl_val e = entry(q, ids[i]);
		const char *mid = bare_id(tu_jstr(e, "message_id"));

		expect_entry(e, "sent", 1);
		cr_assert_eq(times_in(got, ngot, mid), 1, "%s received %zu "
		    "times", mid, times_in(got, ngot, mid));
	}
	most = tu_keep(tu_read_file(peak, NULL));
	cr_assert(most != NULL && strcmp(most, "3\n") == 0, "max_connections=3: "
	    "%s sessions at once", most != NULL ? most : "no");
	cr_assert_eq(log_count(s, "EHLO"), 3, "max_connections=3 and %d "
	    "messages: %d sessions", N, log_count(s, "EHLO"));
	cr_assert_eq(log_count(s, "QUIT"), 3);
	cr_assert_eq(sessions_that_carried(s), 3, "the queue was not shared:\n"
	    "%s", server_log(s));
}

/*
 * Outcomes stay with their messages when one session carries them all:
 * message 0 and 2 get 451 to the data (deferred), message 1 goes to an
 * address the server refuses (failed), the other nine are taken (sent).
 * With PIPELINING a message's data travels with the next message's
 * commands, so a reply read for the wrong message would show here.
 */
static void
mixed_outcomes(bool pipelining)
{
	enum { N = 12 };
	static const char refused_to[] = "nobody@example.net";
	struct server *s = serve("mail", "--data-reply", "451 4.3.0 try later",
	    "--fail-first", "3", "--rcpt-reply-for",
	    "nobody@example.net=550 5.1.1 no such user",
	    pipelining ? "--pipelining" : NULL, NULL);
	long long ids[N];
	const char *err, **got;
	struct summary sum;
	size_t ngot;
	yajl_val q;

	/* A long back-off: no retry within this run, however slow it is. */
	profile_for("p", s, "retry_max=600", "retry_delay=600", NULL);
	for (size_t i = 0; i < N; i++)
		ids[i] = submit(message_text("mix", i), "--profile", "p",
		    "--to", i == 1 ? refused_to : TO, "--message", "-", NULL);
	sum = run_once(&err);
	expect_summary(&sum, N - 3, 2, 1, 0, err);
	q = queue_json(NULL);
	got = all_ids(&s, 1, &ngot);
	cr_assert_eq(ngot, N - 3, "the server stored %zu", ngot);
	for (size_t i = 0; i < N; i++) {
		yajl_val e = entry(q, ids[i]);
		const char *mid = message_id_of("mix", i);

		if (i == 0 || i == 2) {
			expect_entry(e, "deferred", 1);
			cr_assert(strstr(tu_jstr(e, "last_reply"), "451") != NULL,
			    "message %zu: %s", i, tu_jstr(e, "last_reply"));
			cr_assert_eq(times_in(got, ngot, mid), 0);
		} else if (i == 1) {
			expect_entry(e, "failed", 1);
			expect_rcpt(e, 0, refused_to, "failed", 550);
			cr_assert_eq(times_in(got, ngot, mid), 0);
		} else {
			expect_entry(e, "sent", 1);
			expect_rcpt(e, 0, TO, "sent", 250);
			cr_assert_eq(times_in(got, ngot, mid), 1, "message %zu "
			    "received %zu times", i, times_in(got, ngot, mid));
		}
	}
	cr_assert_eq(log_count(s, "EHLO"), 1, "one session for all");
	cr_assert_eq(log_count(s, "MAIL"), N);
}

Test(queue_run, mixed_outcomes_in_one_session)
{
	mixed_outcomes(false);
}

Test(queue_run, mixed_outcomes_in_one_pipelined_session)
{
	mixed_outcomes(true);
}

/*
 * The size queue --json lists and the log line gives is the message's, as
 * the server stores it: not its DATA form (dot-stuffed, with the final
 * ".\r\n").
 */
Test(queue_run, size_is_the_message_size)
{
	static const char text[] =
	    "Date: Mon, 02 Jun 2025 10:00:00 +0000\r\n"
	    "Message-ID: <size-1@gwsmtp.test>\r\n"
	    "From: <" FROM ">\r\n"
	    "To: <" TO ">\r\n"
	    "Subject: size\r\n"
	    "\r\n"
	    ".a line with a leading dot\r\n"
	    "last line\r\n";
	struct server *s = serve("mail", NULL);
	const char *err;
	long long id;

	profile_for("p", s, NULL);
	id = submit(text, "--profile", "p", "--message", "-", NULL);
	run_once(&err);
	cr_assert_eq(received(s), 1);
	cr_assert_str_eq(mail_file(s, 1, "eml"), text);
	cr_assert_eq(mail_size(s, 1), (long long)sizeof text - 1);
	cr_assert_eq(jint(entry(queue_json(NULL), id), "size"),
	    (long long)sizeof text - 1, "queue --json: size %lld, the message "
	    "has %zu octets", jint(entry(queue_json(NULL), id), "size"),
	    sizeof text - 1);
	cr_assert_not_null(strstr(log_line(err, id), tu_fmt(" size=%zu ",
	    sizeof text - 1)), "the message has %zu octets: %s", sizeof text - 1,
	    log_line(err, id));
}

/*
 * 2. 451 then 250: deferred by retry_delay, then sent by a later
 * run --once (or by the same one, if it lasted until then).
 */
Test(queue_run, deferred_then_sent)
{
	struct server *s = serve("mail", "--data-reply", "451 4.3.0 try later",
	    "--fail-first", "1", NULL);
	const char *err, *line;
	struct summary sum, more;
	time_t t1, t2, next;
	long long id;
	yajl_val e;

	profile_for("p", s, "retry_delay=1", "retry_max=2", NULL);
	id = submit("deferred body\n", "--profile", "p", NULL);
	t1 = time(NULL);
	sum = run_once(&err);
	t2 = time(NULL);
	line = log_line(err, id);
	cr_assert_not_null(line, "no log line for %lld:\n%s", id, err);
	cr_assert_not_null(strstr(line, " profile=p "), "%s", line);
	cr_assert_not_null(strstr(line, " server="), "%s", line);
	cr_assert_not_null(strstr(line, " tls=none "), "%s", line);
	cr_assert_not_null(strstr(line, " auth=none "), "%s", line);
	e = entry(queue_json(NULL), id);
	cr_assert_not_null(strstr(line, tu_fmt(" size=%lld ", jint(e, "size"))),
	    "%s", line);
	cr_assert_not_null(strstr(line, tu_fmt(" id=<%s> ",
	    bare_id(tu_jstr(e, "message_id")))), "%s", line);
	expect_logged(line, "deferred", "451 4.3.0 try later");

	/* Between the attempts, where this run ended before the retry. */
	if (is_state(e, "deferred")) {
		expect_summary(&sum, 0, 1, 0, 0, err);
		expect_entry(e, "deferred", 1);
		cr_assert(!held(e));
		cr_assert_not_null(tu_jstr(e, "last_reply"));
		cr_assert_not_null(strstr(tu_jstr(e, "last_reply"), "451"),
		    "last_reply: %s", tu_jstr(e, "last_reply"));
		next = parse_time(tu_jstr(e, "next_attempt"));
		cr_assert(next >= t1 + 1 && next <= t2 + 1, "next_attempt "
		    "%lld, expected retry_delay (1 s) after the attempt, in "
		    "[%lld, %lld]", (long long)next, (long long)t1 + 1,
		    (long long)t2 + 1);
		expect_rcpt(e, 0, TO, "pending", 451);
		cr_assert_eq(received(s), 0);

		/*
		 * Not due yet: a run --once that ends before it leaves it
		 * alone.  One that ends later may rightly send it.
		 */
		more = run_once(&err);
		summary_add(&sum, &more);
		if (time(NULL) < next) {
			expect_summary(&more, 0, 0, 0, 0, err);
			expect_entry(entry(queue_json(NULL), id), "deferred", 1);
			cr_assert_eq(log_count(s, "MAIL"), 1, "retried before "
			    "next_attempt");
		}
	}
	run_until_final(id, &sum, &err);
	expect_summary(&sum, 1, 1, 0, 0, err);
	e = entry(queue_json(NULL), id);
	expect_entry(e, "sent", 2);
	expect_rcpt(e, 0, TO, "sent", 250);
	cr_assert(jnull(e, "next_attempt"));
	cr_assert_eq(received(s), 1);
	cr_assert_str_eq(mail_id(s, 1), bare_id(tu_jstr(e, "message_id")));
	expect_logged(last_log_line(err, id), "sent", "250");
	cr_assert_eq(log_count(s, "MAIL"), 2);
}

/* 2b. The same as a daemon: it retries on its own, then stops on SIGTERM. */
Test(queue_run, daemon_retries_on_its_own)
{
	struct server *s = serve("mail", "--data-reply", "451 4.3.0 try later",
	    "--fail-first", "1", NULL);
	struct summary sum;
	struct daemon *d;
	const char *err;
	long long id;
	yajl_val e;

	profile_for("p", s, "retry_delay=1", "retry_max=2", NULL);
	d = daemon_start();
	id = submit("daemon body\n", "--profile", "p", NULL);
	e = wait_state(id, "sent");
	expect_entry(e, "sent", 2);
	daemon_alive(d);
	cr_assert_eq(received(s), 1);
	cr_assert_eq(log_count(s, "MAIL"), 2);
	cr_assert_eq(daemon_stop(d, SIGTERM), 0, "gwengine run after "
	    "SIGTERM:\n%s", daemon_err(d));
	err = daemon_err(d);
	sum = summary_of(err);
	expect_summary(&sum, 1, 1, 0, 0, err);
	cr_assert_eq(count_of(err, tu_fmt("gwengine: queue=%lld ", id)), 2,
	    "two attempts, two log lines:\n%s", err);
	expect_logged(log_line(err, id), "deferred", "451 4.3.0 try later");
	expect_logged(log_line(strstr(err, "status=deferred"), id), "sent",
	    "250");
}

/* 3. 550 after the data: failed at once, never tried again. */
Test(queue_run, permanent_failure)
{
	struct server *s = serve("mail", "--data-reply",
	    "550 5.7.1 content refused", NULL);
	const char *err;
	struct summary sum;
	long long id;
	yajl_val e;

	profile_for("p", s, "retries=5", NULL);
	id = submit("refused body\n", "--profile", "p", NULL);
	sum = run_once(&err);
	expect_summary(&sum, 0, 0, 1, 0, err);
	expect_logged(log_line(err, id), "failed", "550 5.7.1 content refused");
	e = entry(queue_json(NULL), id);
	expect_entry(e, "failed", 1);
	cr_assert_not_null(strstr(tu_jstr(e, "last_reply"), "550"), "%s",
	    tu_jstr(e, "last_reply"));
	expect_rcpt(e, 0, TO, "failed", 550);
	cr_assert(jnull(e, "next_attempt"));

	sum = run_once(&err);
	expect_summary(&sum, 0, 0, 0, 0, err);
	expect_entry(entry(queue_json(NULL), id), "failed", 1);
	cr_assert_eq(log_count(s, "MAIL"), 1, "a failed message was tried "
	    "again");
	cr_assert_eq(received(s), 0);
}

/* 4. Always 451 with retries=1: two attempts, then failed. */
Test(queue_run, retries_exhausted)
{
	struct server *s = serve("mail", "--data-reply", "451 4.3.0 try later",
	    NULL);
	const char *err;
	struct summary sum;
	long long id;
	yajl_val e;

	profile_for("p", s, "retries=1", "retry_delay=1", "retry_max=1", NULL);
	id = submit("never body\n", "--profile", "p", NULL);
	sum = run_once(&err);
	expect_logged(log_line(err, id), "deferred", "451 4.3.0 try later");
	run_until_final(id, &sum, &err);
	expect_summary(&sum, 0, 1, 1, 0, err);
	expect_logged(last_log_line(err, id), "failed", "451 4.3.0 try later");
	e = entry(queue_json(NULL), id);
	expect_entry(e, "failed", 2);
	expect_rcpt(e, 0, TO, "failed", 451);
	cr_assert_not_null(strstr(tu_jstr(e, "last_reply"), "451"));
	sum = run_once(&err);
	expect_summary(&sum, 0, 0, 0, 0, err);
	cr_assert_eq(log_count(s, "MAIL"), 2, "1 + retries attempts");
	cr_assert_eq(received(s), 0);
}

/*
 * 4b. The back-off doubles from retry_delay and stops at retry_max:
 * retry_delay=1 retry_max=2 gives 1, 2, 2 (not 4).  After each run, the
 * next attempt is the delay of the attempts made so far after the last of
 * them (a run may have made two: see run_until_final()).
 */
Test(queue_run, backoff_doubles_up_to_retry_max)
{
	struct server *s = serve("mail", "--data-reply", "451 4.3.0 try later",
	    NULL);
	static const int delay[] = { 1, 2, 2 };
	long long id;
	yajl_val e;

	profile_for("p", s, "retries=3", "retry_delay=1", "retry_max=2", NULL);
	id = submit("backoff body\n", "--profile", "p", NULL);
	for (int runs = 0;; runs++) {
		time_t t1 = time(NULL), t2, next;
		long long k;

		cr_assert(runs < 4, "4 attempts took more than 4 runs");
		run_once(NULL);
		t2 = time(NULL);
		e = entry(queue_json(NULL), id);
		if (!is_state(e, "deferred"))
			break;
		k = jint(e, "attempts");
		cr_assert(k >= 1 && k <= 3, "deferred after %lld attempts", k);
		next = parse_time(tu_jstr(e, "next_attempt"));
		cr_assert(next >= t1 + delay[k - 1] && next <= t2 + delay[k - 1],
		    "after attempt %lld: next_attempt %lld s after the run "
		    "began, expected %d", k, (long long)(next - t1),
		    delay[k - 1]);
		sleep_until(next);
	}
	expect_entry(e, "failed", 4);
	cr_assert_eq(log_count(s, "MAIL"), 4);
}

/*
 * 5. Three recipients: one accepted, one refused for good (550), one for
 * now (451).  The retry goes to the third alone.
 */
Test(queue_run, per_recipient_outcomes)
{
	struct server *s = serve("mail",
	    "--rcpt-reply-for", "gone@example.net=550 5.1.1 no such user",
	    "--rcpt-reply-for", "busy@example.net=451 4.2.1 mailbox busy",
	    "--fail-first", "1", NULL);
	const char *err, *json;
	struct summary sum;
	long long id;
	yajl_val e;

	profile_for("p", s, NULL);
	id = submit("three body\n", "--profile", "p", "--to", "ok@example.net",
	    "--to", "gone@example.net", "--to", "busy@example.net", NULL);
	sum = run_once(&err);
	e = entry(queue_json(NULL), id);
	/* Between the attempts, where this run ended before the retry. */
	if (is_state(e, "deferred")) {
		expect_summary(&sum, 0, 1, 0, 0, err);
		expect_entry(e, "deferred", 1);
		expect_rcpt(e, 0, "ok@example.net", "sent", 250);
		expect_rcpt(e, 1, "gone@example.net", "failed", 550);
		expect_rcpt(e, 2, "busy@example.net", "pending", 451);
		cr_assert_eq(received(s), 1);
	}
	json = mail_file(s, 1, "json");
	cr_assert_not_null(json);
	cr_assert_not_null(strstr(json, "\"rcpt_tos\": [\"ok@example.net\"],"),
	    "%s", json);

	run_until_final(id, &sum, &err);
	expect_summary(&sum, 1, 1, 0, 0, err);
	e = entry(queue_json(NULL), id);
	expect_entry(e, "sent", 2);
	expect_rcpt(e, 0, "ok@example.net", "sent", 250);
	expect_rcpt(e, 1, "gone@example.net", "failed", 550);
	expect_rcpt(e, 2, "busy@example.net", "sent", 250);
	cr_assert_not_null(tu_jstr(rcpt(e, 1), "reply"));
	cr_assert_not_null(strstr(tu_jstr(rcpt(e, 1), "reply"), "no such user"),
	    "%s", tu_jstr(rcpt(e, 1), "reply"));
	cr_assert_eq(received(s), 2);
	json = mail_file(s, 2, "json");
	cr_assert_not_null(strstr(json, "\"rcpt_tos\": [\"busy@example.net\"],"),
	    "the retry went to more than the pending recipient:\n%s", json);
	cr_assert_str_eq(mail_id(s, 2), mail_id(s, 1));
	cr_assert_eq(log_count(s, "RCPT"), 4);
}

/*
 * 6. The server dies after 3 of 10 messages: the rest are deferred, not
 * failed and not lost, and go out once a server listens again.
 */
Test(queue_run, server_dies_mid_session)
{
	enum { N = 10, FIRST = 3 };
	struct server *s = serve("first", "--die-after", "3", NULL), *s2;
	struct server *both[2];
	long long ids[N];
	const char *err, **got;
	struct summary sum;
	time_t due = 0;
	size_t ngot;
	yajl_val q;

	/* Retries enough that no schedule runs out of them. */
	profile_for("p", s, "retries=100", "retry_delay=1", "retry_max=1",
	    NULL);
	submit_many("dies", 0, N, ids);
	sum = run_once(&err);
	cr_assert_eq(received(s), FIRST);
	/*
	 * The rest deferred, each at least once: a run that lasts past their
	 * next_attempt tries them again (see run_until_final()) and finds
	 * the port closed again.
	 */
	cr_assert(sum.sent == FIRST && sum.deferred >= N - FIRST &&
	    sum.failed == 0 && sum.held == 0, "run: %d sent, %d deferred, %d "
	    "failed, %d held; expected %d, at least %d, 0, 0\n%s", sum.sent,
	    sum.deferred, sum.failed, sum.held, FIRST, N - FIRST, err);
	q = queue_json(NULL);
	cr_assert_eq(qlen(q), N);
	cr_assert_eq(count_state(q, "sent"), FIRST);
	for (size_t i = 0; i < N; i++) {
		yajl_val e = entry(q, ids[i]);

		if (is_state(e, "sent"))
			continue;
		cr_assert(is_state(e, "deferred"), "entry %lld is %s after the "
		    "server died", ids[i], tu_jstr(e, "state"));
		cr_assert(jint(e, "attempts") >= 1);
		cr_assert_not_null(tu_jstr(e, "last_reply"), "deferred without a "
		    "reason");
		if (parse_time(tu_jstr(e, "next_attempt")) > due)
			due = parse_time(tu_jstr(e, "next_attempt"));
	}

	/* The server is back on the same port. */
	s2 = serve("second", "--port", tu_fmt("%d", s->port), NULL);
	cr_assert_eq(s2->port, s->port);
	sleep_until(due);
	sum = run_once(&err);
	expect_summary(&sum, N - FIRST, 0, 0, 0, err);
	cr_assert_eq(received(s2), N - FIRST);
	q = queue_json(NULL);
	cr_assert_eq(count_state(q, "sent"), N);
	both[0] = s;
	both[1] = s2;
	got = all_ids(both, 2, &ngot);
	cr_assert_eq(ngot, N);
	for (size_t i = 0; i < N; i++)
		cr_assert_eq(times_in(got, ngot, message_id_of("dies", i)), 1,
		    "%s received %zu times", message_id_of("dies", i),
		    times_in(got, ngot, message_id_of("dies", i)));
}

/*
 * 7. gwadmin set between two messages: the daemon sends the second one to
 * the new port, without a restart.
 */
Test(queue_run, live_config_change)
{
	struct server *s1 = serve("first", NULL), *s2 = serve("second", NULL);
	struct daemon *d;
	long long id1, id2;

	profile_for("p", s1, NULL);
	d = daemon_start();
	id1 = submit(message_text("live", 1), "--profile", "p", "--message",
	    "-", NULL);
	wait_state(id1, "sent");
	cr_assert_eq(received(s1), 1);
	admin("set", "p", tu_fmt("port=%d", s2->port), NULL);
	id2 = submit(message_text("live", 2), "--profile", "p", "--message",
	    "-", NULL);
	wait_state(id2, "sent");
	daemon_alive(d);
	cr_assert_eq(received(s2), 1, "the second message did not reach the "
	    "new port");
	cr_assert_str_eq(mail_id(s2, 1), message_id_of("live", 2));
	cr_assert_eq(received(s1), 1, "the old port got the second message "
	    "too");
	cr_assert_str_eq(mail_id(s1, 1), message_id_of("live", 1));
	cr_assert_eq(daemon_stop(d, SIGTERM), 0, "%s", daemon_err(d));
}

/*
 * 7b. The same in the middle of one session: 20 messages, and the port
 * changed while the daemon works through them.  At most the message in
 * flight when gwadmin returns still goes to the old port.  The old server
 * holds the reply to the third message (smtpd.py --gate) until the change
 * is made, so the change lands in the middle of the queue however fast
 * or slow the machine is.
 */
Test(queue_run, live_config_change_mid_session)
{
	enum { N = 20, FIRST = 2 };
	struct server *s1 = serve("first", "--gate", gate_path(),
	    "--gate-after", "2", NULL);
	struct server *s2 = serve("second", NULL);
	struct server *both[2] = { s1, s2 };
	long long ids[N];
	const char **got;
	struct daemon *d;
	size_t ngot;
	yajl_val q;

	/* The timeout outlasts smtpd.py's --wait-max (30 s). */
	profile_for("p", s1, "timeout=60", NULL);
	submit_many("mid", 0, N, ids);
	d = daemon_start();
	/* Message 3 is in flight: its data sent, its reply held. */
	wait_logged(s1, "DATA", FIRST + 1);
	admin("set", "p", tu_fmt("port=%d", s2->port), NULL);
	open_gate();
	for (size_t i = 0; i < N; i++)
		wait_state(ids[i], "sent");
	daemon_alive(d);
	cr_assert(received(s1) >= FIRST && received(s1) <= FIRST + 1, "%zu "
	    "messages went to the old port: %d before gwadmin set, and at "
	    "most the one in flight after it", received(s1), FIRST);
	cr_assert_eq(received(s1) + received(s2), N);
	got = all_ids(both, 2, &ngot);
	for (size_t i = 0; i < N; i++)
		cr_assert_eq(times_in(got, ngot, message_id_of("mid", i)), 1);
	q = queue_json(NULL);
	cr_assert_eq(count_state(q, "sent"), N);
	cr_assert_eq(daemon_stop(d, SIGTERM), 0, "%s", daemon_err(d));
}

/* Asserts that entry id is held, unsent and unattempted. */
static void
expect_held(long long id, long long attempts, const struct server *s)
{
	yajl_val e = entry(queue_json(NULL), id);

	cr_assert(held(e), "entry %lld is not held (%s)", id, tu_jstr(e, "state"));
	cr_assert(is_state(e, "queued") || is_state(e, "deferred"), "a held "
	    "entry is %s", tu_jstr(e, "state"));
	cr_assert_eq(jint(e, "attempts"), attempts, "holding counted as an "
	    "attempt");
	cr_assert_not_null(tu_jstr(e, "last_reply"), "held without saying why");
	cr_assert_eq(received(s), 0);
	cr_assert_str_eq(server_log(s), "", "a held message reached the "
	    "server");
}

/* 8. An inactive profile holds its messages until it is active again. */
Test(queue_run, held_while_profile_inactive)
{
	struct server *s = serve("mail", NULL);
	const char *err;
	struct summary sum;
	long long id;
	yajl_val e;

	profile_for("p", s, "active=false", NULL);
	id = submit("held body\n", "--profile", "p", NULL);
	sum = run_once(&err);
	expect_summary(&sum, 0, 0, 0, 1, err);
	expect_held(id, 0, s);
	cr_assert(is_state(entry(queue_json(NULL), id), "queued"));
	/* Still held on the next run: the configuration did not change. */
	sum = run_once(&err);
	cr_assert_eq(sum.sent + sum.deferred + sum.failed, 0, "%s", err);
	expect_held(id, 0, s);

	admin("set", "p", "active=true", NULL);
	sum = run_once(&err);
	expect_summary(&sum, 1, 0, 0, 0, err);
	e = entry(queue_json(NULL), id);
	expect_entry(e, "sent", 1);
	cr_assert(!held(e));
	cr_assert_eq(received(s), 1);
}

/*
 * A profile deleted after submit: the message waits, held, with the reason
 * in last_reply, and goes once a profile of that name exists again.
 */
Test(queue_run, held_while_profile_missing)
{
	struct server *s = serve("mail", NULL);
	const char *err;
	struct summary sum;
	long long id;
	yajl_val e;

	profile_for("p", s, NULL);
	id = submit("held body\n", "--profile", "p", NULL);
	admin("delete", "p", NULL);
	sum = run_once(&err);
	expect_summary(&sum, 0, 0, 0, 1, err);
	expect_held(id, 0, s);
	e = entry(queue_json(NULL), id);
	cr_assert(strstr(tu_jstr(e, "last_reply"), "no profile named 'p'") !=
	    NULL, "the reason: %s", tu_jstr(e, "last_reply"));

	profile_for("p", s, NULL);
	sum = run_once(&err);
	expect_summary(&sum, 1, 0, 0, 0, err);
	expect_entry(entry(queue_json(NULL), id), "sent", 1);
	cr_assert_eq(received(s), 1);
}

/*
 * --syslog: the lines go to syslog (facility mail), not to standard error,
 * and the message still goes.  Where syslog is not running they are lost,
 * as syslog(3) loses them: what is checked here is that none is printed.
 */
Test(queue_run, syslog_takes_the_lines_off_stderr)
{
	struct server *s = serve("mail", NULL);
	struct tu_run r;
	long long id;

	profile_for("p", s, NULL);
	id = submit("syslog body\n", "--profile", "p", NULL);
	r = eng(NULL, "run", "--once", "--syslog", NULL);
	cr_assert_eq(r.status, 0, "run --once --syslog: %d\n%s", r.status,
	    r.err);
	cr_assert_str_eq(r.err, "", "printed with --syslog:\n%s", r.err);
	tu_run_free(&r);
	expect_entry(entry(queue_json(NULL), id), "sent", 1);
	cr_assert_eq(received(s), 1);
}

/* 8b. The same with SMTP disabled in the settings. */
Test(queue_run, held_while_smtp_disabled)
{
	struct server *s = serve("mail", NULL);
	const char *err;
	struct summary sum;
	long long id;

	profile_for("p", s, NULL);
	admin("settings", "enabled=false", NULL);
	id = submit("held body\n", "--profile", "p", NULL);
	sum = run_once(&err);
	expect_summary(&sum, 0, 0, 0, 1, err);
	expect_held(id, 0, s);

	admin("settings", "enabled=true", NULL);
	sum = run_once(&err);
	expect_summary(&sum, 1, 0, 0, 0, err);
	expect_entry(entry(queue_json(NULL), id), "sent", 1);
	cr_assert_eq(received(s), 1);
}

/*
 * 8c. A deferred message held keeps its attempts; the daemon sends held
 * messages once gwadmin re-enables their profile, without a restart.
 */
Test(queue_run, daemon_wakes_held_messages)
{
	struct server *s = serve("mail", NULL);
	struct daemon *d;
	long long id1, id2;
	yajl_val e;

	profile_for("p", s, "active=false", NULL);
	d = daemon_start();
	id1 = submit("held one\n", "--profile", "p", NULL);
	wait_held(id1);
	admin("settings", "enabled=false", NULL);
	admin("set", "p", "active=true", NULL);
	id2 = submit("held two\n", "--profile", "p", NULL);
	wait_held(id2);
	wait_held(id1);
	expect_held(id1, 0, s);
	expect_held(id2, 0, s);
	admin("settings", "enabled=true", NULL);
	e = wait_state(id1, "sent");
	cr_assert(!held(e));
	wait_state(id2, "sent");
	daemon_alive(d);
	cr_assert_eq(received(s), 2);
	cr_assert_eq(daemon_stop(d, SIGTERM), 0, "%s", daemon_err(d));
}

/* A seed from $GWSMTP_TEST_SEED, else the clock; printed. */
static unsigned long long
test_seed(void)
{
	const char *env = getenv("GWSMTP_TEST_SEED");
	unsigned long long seed = env != NULL ? strtoull(env, NULL, 10) :
	    (unsigned long long)time(NULL) ^ (unsigned long long)getpid();

	fprintf(stderr, "test_queue_run: seed %llu (GWSMTP_TEST_SEED=%llu "
	    "repeats it)\n", seed, seed);
	cr_log_info("seed %llu", seed);
	return seed;
}

/* xorshift64*: the same delays for the same seed. */
static unsigned
next_random(unsigned long long *state, unsigned bound)
{
	unsigned long long x = *state ? *state : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return (unsigned)((x * 0x2545f4914f6cdd1dULL) >> 33) % bound;
}

/*
 * 9. kill -9 at random moments: nothing is lost, and the only duplicates
 * are messages the server accepted before the engine recorded them.
 */
Test(queue_run, kill_9_loses_nothing)
{
	enum { ROUNDS = 20, BATCH = 40, N = ROUNDS * BATCH, GROUP = 64 };
	struct server *s = serve("mail", "--pipelining", NULL);
	long long *ids = (long long *)tu_keep(xcalloc(N, sizeof *ids));
	unsigned long long rng = test_seed();
	size_t ngot, dups = 0, dup_msgs = 0;
	const char *err, **got;
	int killed_mid = 0;
	yajl_val q;

	profile_for("p", s, NULL);
	for (int round = 0; round < ROUNDS; round++) {
		struct daemon *d;
		unsigned delay = next_random(&rng, 301);
		size_t before;
		int status;

		submit_many("kill", (size_t)round * BATCH, BATCH,
		    ids + (size_t)round * BATCH);
		before = received(s);
		d = daemon_start();
		sleep_ms(delay);
		status = daemon_stop(d, SIGKILL);
		cr_assert_eq(status, 128 + SIGKILL, "gwengine run ended "
		    "before the kill (status %d):\n%s", status, daemon_err(d));
		killed_mid += received(s) > before;
	}
	fprintf(stderr, "test_queue_run: %d of %d rounds delivered before "
	    "the kill\n", killed_mid, ROUNDS);
	/*
	 * The next run frees a dead engine's claims at once, on either
	 * backend: its owner name is this host's, and its pid is gone.
	 */
	run_once(&err);

	q = queue_json(NULL);
	cr_assert_eq(qlen(q), N, "the queue has %zu entries, %d submitted",
	    qlen(q), N);
	cr_assert_eq(count_state(q, "sent"), N, "%zu of %d sent after the "
	    "last run --once", count_state(q, "sent"), N);
	for (size_t i = 0; i < N; i++)
		cr_assert(is_state(entry(q, ids[i]), "sent"));
	got = all_ids(&s, 1, &ngot);
	for (size_t i = 0; i < N; i++) {
		const char *mid = message_id_of("kill", i);
		size_t k = times_in(got, ngot, mid);

		cr_assert(k >= 1, "%s was submitted and never received", mid);
		if (k > 1) {
			fprintf(stderr, "test_queue_run: %s received %zu "
			    "times\n", mid, k);
			dups += k - 1;
			dup_msgs++;
		}
	}
	cr_assert_eq(ngot, N + dups, "the server received %zu messages: %d "
	    "submitted, %zu duplicates, the rest unknown", ngot, N, dups);
	fprintf(stderr, "test_queue_run: %zu duplicates of %zu messages over "
	    "%d kills\n", dups, dup_msgs, ROUNDS);
	cr_assert(dups <= (size_t)ROUNDS * GROUP, "%zu duplicates: more than "
	    "%d kills x %d unrecorded", dups, ROUNDS, GROUP);
}

/*
 * 10. SIGTERM in the middle of a queue: the message in flight is finished,
 * no other is begun, the daemon exits 0, nothing is left "sending", and
 * the rest go later without duplicates.  The server holds the reply to the
 * sixth message (smtpd.py --gate) until the daemon has said it is
 * finishing, so the signal lands in the middle of a message every time.
 */
Test(queue_run, sigterm_mid_queue)
{
	enum { N = 200, FIRST = 5 };
	struct server *s = serve("mail", "--gate", gate_path(), "--gate-after",
	    "5", NULL);
	long long *ids = (long long *)tu_keep(xcalloc(N, sizeof *ids));
	size_t at_term, sent, ngot;
	const char *err, **got;
	struct daemon *d;
	struct summary sum;
	yajl_val q;

	/* The timeout outlasts smtpd.py's --wait-max (30 s). */
	profile_for("p", s, "timeout=60", NULL);
	submit_many("term", 0, N, ids);
	d = daemon_start();
	wait_logged(s, "DATA", FIRST + 1);
	kill(d->pid, SIGTERM);
	daemon_wait_line(d, "run: signal 15: finishing the messages in flight");
	open_gate();
	cr_assert_eq(daemon_wait(d), 0, "gwengine run after SIGTERM:\n%s",
	    daemon_err(d));
	at_term = received(s);
	cr_assert_eq(at_term, FIRST + 1, "%zu messages received: %d before "
	    "SIGTERM and the one in flight, and no other begun, expected\n%s",
	    at_term, FIRST, daemon_err(d));

	q = queue_json(NULL);
	cr_assert_eq(qlen(q), N);
	cr_assert_eq(count_state(q, "sending"), 0, "a clean stop left entries "
	    "sending");
	sent = count_state(q, "sent");
	cr_assert_eq(sent, at_term, "%zu received, %zu recorded sent: a clean "
	    "stop must record what the server accepted", at_term, sent);
	for (size_t i = 0; i < N; i++) {
		yajl_val e = entry(q, ids[i]);

		if (!is_state(e, "sent"))
			expect_entry(e, "queued", 0);
	}
	cr_assert_eq(count_of(daemon_err(d), " status=sent reply="),
	    (int)at_term, "%s", daemon_err(d));
	sum = summary_of(daemon_err(d));
	expect_summary(&sum, (int)at_term, 0, 0, 0, daemon_err(d));

	sum = run_once(&err);
	expect_summary(&sum, N - (int)at_term, 0, 0, 0, err);
	q = queue_json(NULL);
	cr_assert_eq(count_state(q, "sent"), N);
	got = all_ids(&s, 1, &ngot);
	cr_assert_eq(ngot, N, "received %zu, submitted %d", ngot, N);
	for (size_t i = 0; i < N; i++)
		cr_assert_eq(times_in(got, ngot, message_id_of("term", i)), 1,
		    "%s received %zu times", message_id_of("term", i),
		    times_in(got, ngot, message_id_of("term", i)));
}

/* Fails if hay holds password, its base64 or PLAIN's response, or marker. */
static void
expect_no_leak(const char *hay, const char *password, const char *user,
    const char *marker, const char *what)
{
	size_t ul = strlen(user), pl = strlen(password);
	char *raw = xcalloc(ul + pl + 3, 1);
	char *forms[3];

	memcpy(raw + 1, user, ul);
	memcpy(raw + 2 + ul, password, pl);
	forms[0] = xstrdup(password);
	forms[1] = base64_encode(raw, ul + pl + 2);
	forms[2] = base64_encode(password, pl);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_null(strstr(hay, forms[i]), "%s shows a secret "
		    "(%s):\n%s", what, forms[i], hay);
		free(forms[i]);
	}
	cr_assert_null(strstr(hay, marker), "%s shows the message body:\n%s",
	    what, hay);
	free(raw);
}

/* 11. queue (both forms) and run never show the body or the password. */
Test(queue_run, queue_shows_no_body_or_password)
{
	const char *password = "pw-Qu3ue-S3kr1t!", *marker =
	    "BODY-MARKER-7c1f9e", *text;
	struct server *s = serve("mail", "--auth", "--user", "gw-user",
	    "--password", password, "--mechanisms", "PLAIN",
	    "--no-auth-require-tls", "--data-reply", "451 4.3.0 try later",
	    "--fail-first", "1", NULL);
	const char *err;
	struct summary sum;
	struct tu_run r;
	long long id;

	profile_for("p", s, NULL);
	admin_password(password, "set", "p", "auth=plain", "username=gw-user",
	    "allow_plain_auth_without_tls=true", NULL);
	id = submit(tu_fmt("%s\n", marker), "--profile", "p", "--subject",
	    "secret test", NULL);
	queue_json(&text);
	expect_no_leak(text, password, "gw-user", marker, "queue --json");
	r = eng(NULL, "queue", NULL);
	expect_exit(&r, 0, "queue");
	cr_assert_not_null(strstr(r.out, tu_fmt("%lld", id)), "the table does not "
	    "show entry %lld:\n%s", id, r.out);
	expect_no_leak(r.out, password, "gw-user", marker, "queue");
	expect_no_leak(r.err, password, "gw-user", marker, "queue's stderr");
	tu_run_free(&r);

	/*
	 * Deferred once (the reply is kept), then sent with AUTH PLAIN, by
	 * the same run or a later one (see run_until_final()).
	 */
	sum = run_once(&err);
	expect_no_leak(err, password, "gw-user", marker, "run --once");
	queue_json(&text);
	expect_no_leak(text, password, "gw-user", marker, "queue --json");
	run_until_final(id, &sum, &err);
	expect_no_leak(err, password, "gw-user", marker, "run --once");
	expect_summary(&sum, 1, 1, 0, 0, err);
	expect_entry(entry(queue_json(&text), id), "sent", 2);
	expect_no_leak(text, password, "gw-user", marker, "queue --json");
	cr_assert_eq(received(s), 1);
	cr_assert_not_null(strstr(mail_file(s, 1, "json"),
	    "\"auth_mechanism\": \"PLAIN\""));
	cr_assert_not_null(strstr(mail_file(s, 1, "eml"), marker));
}

/*
 * When the server's k-th message was stored (its .eml's mtime), in ns of
 * the real-time clock.
 */
static long long
mail_time(const struct server *s, size_t k)
{
	struct stat sb;

	cr_assert(stat(tu_fmt("%s/%04zu.eml", s->maildir, k), &sb) == 0);
	return (long long)sb.st_mtim.tv_sec * 1000000000LL +
	    sb.st_mtim.tv_nsec;
}

/* The first time message id reached one of the servers s[0..n), or -1. */
static long long
first_receipt(struct server *const *s, size_t n, const char *id)
{
	long long first = -1;

	for (size_t i = 0; i < n; i++) {
		for (size_t k = 1, got = received(s[i]); k <= got; k++) {
			long long t;

			if (strcmp(mail_id(s[i], k), id) != 0)
				continue;
			t = mail_time(s[i], k);
			if (first == -1 || t < first)
				first = t;
		}
	}
	return first;
}

static long long
realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * 11. Three daemons share one queue (engines of several hosts on
 * PostgreSQL, of one host on SQLite), are killed with kill -9 at random
 * moments and replaced, and the configuration changes under them: nothing
 * is lost; a message is received twice only if the server had taken it
 * before a kill (or took it, from what a killed engine had already
 * written, just after); what is submitted after the change goes to the
 * new server only, whichever engine sends it.
 */
Test(queue_run, three_daemons_kill_9_and_a_live_change)
{
	enum { N = 2000, AFTER = 200, ENGINES = 3, KILLS = 10, GROUP = 64 };
	const long long KILL_GRACE_NS = 5000000000LL;
	struct server *one = serve("one", "--pipelining", NULL);
	struct server *two = serve("two", "--pipelining", NULL);
	struct server *both[] = { one, two };
	long long *ids = (long long *)tu_keep(xcalloc(N + AFTER, sizeof *ids));
	unsigned long long rng = test_seed();
	struct daemon *d[ENGINES];
	long long last_kill = 0, deadline;
	size_t ngot, dups = 0, dup_msgs = 0, mid = 0;
	const char **got;
	yajl_val q;

	profile_for("p", one, "max_connections=2", NULL);
	submit_many("multi", 0, N, ids);
	for (int i = 0; i < ENGINES; i++)
		d[i] = daemon_start();
	for (int k = 0; k < KILLS; k++) {
		unsigned victim = next_random(&rng, ENGINES);
		size_t before = received(one);
		int status;

		sleep_ms(next_random(&rng, 301));
		status = daemon_stop(d[victim], SIGKILL);
		last_kill = realtime_ns();
		cr_assert_eq(status, 128 + SIGKILL, "an engine ended before "
		    "its kill (status %d):\n%s", status, daemon_err(d[victim]));
		mid += received(one) > before && received(one) < N;
		d[victim] = daemon_start();
	}
	fprintf(stderr, "test_queue_run: %zu of %d kills while messages were "
	    "being delivered\n", mid, KILLS);

	/* The change: the running engines send the rest to the new server. */
	admin("set", "p", tu_fmt("port=%d", two->port), NULL);
	submit_many("after", 0, AFTER, ids + N);
	deadline = tu_now_ms() + 4 * TU_SETTLE_MS;
	while (count_state(q = queue_json(NULL), "sent") < N + AFTER) {
		cr_assert(tu_now_ms() < deadline, "%zu of %d sent in %d s:\n%s",
		    count_state(q, "sent"), N + AFTER, 4 * TU_SETTLE_MS / 1000,
		    daemons_err());
		sleep_ms(100);
	}
	for (int i = 0; i < ENGINES; i++)
		cr_assert_eq(daemon_stop(d[i], SIGTERM), 0, "%s",
		    daemon_err(d[i]));
	cr_assert_eq(qlen(q), N + AFTER);

	got = all_ids(both, 2, &ngot);
	for (size_t i = 0; i < N + AFTER; i++) {
		const char *id = i < N ? message_id_of("multi", i) :
		    message_id_of("after", i - N);
		size_t k = times_in(got, ngot, id);

		cr_assert(k >= 1, "%s was submitted and never received", id);
		if (k > 1) {
			/*
			 * Only one the server took before a kill, or just
			 * after it from what the killed engine had already
			 * written (KILL_GRACE_NS on a loaded machine).
			 */
			cr_assert(first_receipt(both, 2, id) <= last_kill +
			    KILL_GRACE_NS, "%s received %zu times, the first "
			    "%lld ms after the last kill", id, k,
			    (first_receipt(both, 2, id) - last_kill) /
			    1000000);
			fprintf(stderr, "test_queue_run: %s received %zu "
			    "times\n", id, k);
			dups += k - 1;
			dup_msgs++;
		}
	}
	cr_assert_eq(ngot, N + AFTER + dups);
	fprintf(stderr, "test_queue_run: %zu duplicates of %zu messages over "
	    "%d kills of %d engines\n", dups, dup_msgs, KILLS, ENGINES);
	cr_assert(dups <= (size_t)KILLS * GROUP * 2, "%zu duplicates: more "
	    "than %d kills x %d unrecorded outcomes x 2 sessions", dups, KILLS,
	    GROUP);
	got = all_ids(&one, 1, &ngot);
	for (size_t i = 0; i < AFTER; i++)
		cr_assert_eq(times_in(got, ngot, message_id_of("after", i)), 0,
		    "%s, submitted after the change, went to the old server",
		    message_id_of("after", i));
}

/*
 * 12. A late engine writes nothing: A sends a message, and while the
 * server holds the reply, A stops (SIGSTOP: a paused VM, a stalled host)
 * past the end of its 2-second lease.  B takes the message over and sends
 * it to another server; then A wakes to a 451 it must not record over B's
 * outcome.
 */
Test(queue_run, late_engine_records_nothing)
{
	struct server *slow = serve("slow", "--gate", gate_path(),
	    "--gate-after", "0", "--data-reply", "451 4.3.0 try later", NULL);
	struct server *other = serve("other", NULL);
	struct daemon *a;
	struct summary sum;
	const char *err;
	long long id;
	yajl_val e;

	profile_for("p", slow, NULL);
	submit_many("late", 0, 1, &id);
	a = daemon_start_args((const char *const[]){ "--lease", "2", NULL });
	wait_logged(slow, "DATA", 1);	/* the reply is held */
	/* A's message stays with its session; the next ones go elsewhere. */
	admin("set", "p", tu_fmt("port=%d", other->port), NULL);
	for (int tries = 1;; tries++) {
		struct tu_run r;

		cr_assert_eq(kill(a->pid, SIGSTOP), 0);
		/*
		 * A renewed its lease (every second) at the latest as it
		 * stopped: the lease ends within 2 s after that, on the
		 * whole second.
		 */
		sleep_ms(4000);
		r = eng(NULL, "run", "--once", NULL);
		sum = summary_of(r.err);
		err = tu_keep(r.err);
		free(r.out);
		if (r.status == 0 && sum.sent == 1)
			break;
		/*
		 * A stopped inside its renewal's transaction, holding the
		 * lock (SQLite) or the row (PostgreSQL) B needed: let it
		 * finish and stop it again.
		 */
		cr_assert(tries < 5, "B could not take the message over in %d "
		    "tries (exit %d):\n%s", tries, r.status, err);
		cr_assert_eq(kill(a->pid, SIGCONT), 0);
		sleep_ms(200);
	}
	expect_summary(&sum, 1, 0, 0, 0, err);
	cr_assert_eq(received(other), 1);
	cr_assert_str_eq(mail_id(other, 1), message_id_of("late", 0));

	open_gate();
	cr_assert_eq(kill(a->pid, SIGCONT), 0);
	daemon_wait_line(a, "another engine took it over");
	cr_assert_eq(daemon_stop(a, SIGTERM), 0, "%s", daemon_err(a));
	e = entry(queue_json(NULL), id);
	cr_assert(is_state(e, "sent"), "A's late 451 was recorded over B's "
	    "250:\n%s", daemon_err(a));
	cr_assert_eq(jint(e, "attempts"), 1, "B's attempt only");
}
