/*
 * tests/test_hostile.c: gwengine and gwadmin against what a hostile
 * server, a database written behind gwadmin's back, or a crash would do
 * with them (issue 9): replies out of step with the protocol, replies
 * dripped a byte at a time, replies echoing the credentials, commands and
 * addresses with line breaks stored straight into the database, and the
 * memory of a process that holds a password.
 *
 * The real binaries, a real database, tests/servers/badsmtp.py for the
 * scripted faults and smtpd.py (aiosmtpd) to show a kept message is whole.
 * Each gwengine runs under timeout(1), so a hang fails the test instead
 * of stalling the suite.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "core/base64.h"
#include "core/profile.h"
#include "core/xmalloc.h"
#include "engine/smtp.h"
#include "tests/servers.h"
#include "tests/testutil.h"

#define EXIT_TEMPFAIL	75
#define EXIT_PROTOCOL	76
#define EXIT_NOPERM	77
#define EXIT_CONFIG	78
#define EXIT_TIMEDOUT	124	/* timeout(1): gwengine hung */

#define USER		"gw-user"
#define PASSWORD	"Ech0-Me-N0t"
#define FROM		"gw@example.com"
#define TO		"reader@example.net"
#define MAX_SERVERS	3
#define MAX_ARGS	64
#define HANG_LIMIT	"60"	/* seconds before timeout(1) steps in */

static char		*dir;
static char		*db;
static char		*logpath;	/* badsmtp.py's --log */
static struct tu_server	*servers[MAX_SERVERS];
static size_t		 nservers;
static pid_t		 daemon_pid = -1;

static void
setup(void)
{
	dir = tu_tmpdir();
	db = tu_db(dir, "gw.db");
	logpath = xasprintf("%s/server.log", dir);
	unsetenv("GWSMTP_DB");
}

static void
teardown(void)
{
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGKILL);
		waitpid(daemon_pid, NULL, 0);
		daemon_pid = -1;
	}
	for (size_t i = 0; i < nservers; i++)
		tu_server_stop(servers[i]);
	nservers = 0;
	tu_kept_free();
	tu_rmtree(dir);
	free(dir);
	free(db);
	free(logpath);
}

TestSuite(hostile, .init = setup, .fini = teardown);

/* Starts badsmtp.py --scenario NAME [args...] --log; returns its port. */
static int
bad(const char *scenario, ...)
{
	const char *args[MAX_ARGS] = { "--scenario", scenario };
	size_t n = 2;
	va_list ap;

	va_start(ap, scenario);
	while ((args[n] = va_arg(ap, const char *)) != NULL)
		cr_assert(++n < MAX_ARGS - 3);
	va_end(ap);
	args[n++] = "--log";
	args[n++] = logpath;
	args[n] = NULL;
	cr_assert(nservers < MAX_SERVERS);
	servers[nservers] = tu_server_start("badsmtp.py", args);
	return tu_server_port(servers[nservers++]);
}

/* smtpd.py (aiosmtpd) delivering into DIR/mail; returns its port. */
static int
good(void)
{
	const char *args[] = { "--maildir", tu_fmt("%s/mail", dir), NULL };

	cr_assert(nservers < MAX_SERVERS);
	servers[nservers] = tu_server_start("smtpd.py", args);
	return tu_server_port(servers[nservers++]);
}

static const char *
server_log(void)
{
	char *log = tu_read_file(logpath, NULL);

	return tu_keep(log ? log : xstrdup(""));
}

/* Profile p, plain text, to port, with the extra KEY=VALUEs (which
 * take the place of the defaults they name). */
static void
profile(int port, ...)
{
	const char *defaults[] = { "tls=none", "host=127.0.0.1",
	    "from=" FROM, "to=" TO, "timeout=10", "retry_delay=1",
	    "retry_max=1", tu_fmt("port=%d", port) };
	const char *argv[MAX_ARGS] = { "--db", db, "set", "p" };
	const char *extra[MAX_ARGS];
	size_t n = 4, nextra = 0;
	struct tu_run r;
	va_list ap;

	va_start(ap, port);
	while ((extra[nextra] = va_arg(ap, const char *)) != NULL)
		cr_assert(++nextra < MAX_ARGS / 2);
	va_end(ap);
	for (size_t i = 0; i < sizeof defaults / sizeof *defaults; i++) {
		size_t klen = strcspn(defaults[i], "=") + 1;
		bool given = false;

		for (size_t j = 0; j < nextra; j++)
			given = given || strncmp(extra[j], defaults[i],
			    klen) == 0;
		if (!given)
			argv[n++] = defaults[i];
	}
	for (size_t j = 0; j < nextra; j++)
		argv[n++] = extra[j];
	argv[n++] = "--password-stdin";
	argv[n] = NULL;
	tu_gwadmin(&r, PASSWORD "\n", argv);
	cr_assert_eq(r.status, 0, "gwadmin set: %s", r.err);
	tu_run_free(&r);
	tu_admin_ok(db, NULL, "settings", "default_profile=p", NULL);
}

/* gwengine --db DB FIRST ARGS... under timeout(1), stdin from in. */
static struct tu_run
eng(const char *in, const char *first, ...)
{
	const char *argv[MAX_ARGS] = { "timeout", "-s", "KILL", HANG_LIMIT,
	    getenv("GWENGINE"), "--db", db, first };
	size_t n = 8;
	struct tu_run r;
	va_list ap;

	cr_assert_not_null(argv[4], "GWENGINE is not set");
	va_start(ap, first);
	while ((argv[n] = va_arg(ap, const char *)) != NULL)
		cr_assert(++n < MAX_ARGS - 1);
	va_end(ap);
	tu_run_cmd(&r, in, argv);
	return r;
}

static void
expect_exit(const struct tu_run *r, int want, const char *what)
{
	cr_assert_eq(r->status, want, "%s: exit %d, expected %d\nstdout: %s\n"
	    "stderr: %s\nserver log:\n%s", what, r->status, want, r->out,
	    r->err, server_log());
}

static long long
submit(void)
{
	struct tu_run r = eng("the body\n", "submit", "--subject", "hostile",
	    NULL);
	long long id;

	expect_exit(&r, 0, "submit");
	id = atoll(r.out);
	cr_assert_gt(id, 0);
	tu_run_free(&r);
	return id;
}

/* gwengine queue --json: the entry with this id (kept till teardown). */
static yajl_val
entry(long long id)
{
	struct tu_run r = eng(NULL, "queue", "--json", NULL);
	static yajl_val tree;
	yajl_val v = NULL;
	char err[256];

	expect_exit(&r, 0, "queue --json");
	if (tree != NULL)
		yajl_tree_free(tree);
	tree = yajl_tree_parse(r.out, err, sizeof err);
	cr_assert_not_null(tree, "queue --json: %s\n%s", err, r.out);
	for (size_t i = 0; YAJL_IS_ARRAY(tree) && i < tree->u.array.len; i++) {
		yajl_val e = tree->u.array.values[i];
		yajl_val idv = tu_jget(e, "id");

		if (idv != NULL && YAJL_IS_INTEGER(idv) &&
		    YAJL_GET_INTEGER(idv) == id)
			v = e;
	}
	cr_assert_not_null(v, "no entry %lld in\n%s", id, r.out);
	tu_run_free(&r);
	return v;
}

static void
expect_state(long long id, const char *state, const char *rcpt_state)
{
	yajl_val e = entry(id), rc = tu_jget(e, "recipients");

	cr_assert_str_eq(tu_jstr(e, "state"), state, "message %lld: %s (%s)",
	    id, tu_jstr(e, "state"), tu_jstr(e, "last_reply"));
	cr_assert(rc != NULL && YAJL_IS_ARRAY(rc) && rc->u.array.len == 1);
	cr_assert_str_eq(tu_jstr(rc->u.array.values[0], "state"), rcpt_state);
}

static void
expect_text(const char *text, const char *what, const char *where)
{
	cr_assert_not_null(strstr(text, what), "%s does not say '%s':\n%s",
	    where, what, text);
}

static void
expect_no_text(const char *text, const char *what, const char *where)
{
	cr_assert_null(strstr(text, what), "%s holds '%s':\n%s", where, what,
	    text);
}

/* Messages: only the reply to the end of the data settles a recipient. */

/*
 * A message the server never received stays in the queue with its body:
 * deferred after the faulty server, then delivered whole by a good one.
 */
static void
kept_after(const char *scenario, const char *said)
{
	struct tu_run r;
	long long id;
	char *mail;

	profile(bad(scenario, NULL), NULL);
	id = submit();
	r = eng(NULL, "run", "--once", NULL);
	expect_exit(&r, 0, "run --once");
	expect_text(r.err, said, "run's log");
	tu_run_free(&r);
	expect_state(id, "deferred", "pending");

	tu_admin_ok(db, NULL, "set", "p", tu_fmt("port=%d", good()),
	    NULL);
	sleep(1);	/* retry_delay=1 */
	r = eng(NULL, "run", "--once", NULL);
	expect_exit(&r, 0, "run --once");
	tu_run_free(&r);
	expect_state(id, "sent", "sent");
	mail = tu_read_file(tu_fmt("%s/mail/0001.eml", dir), NULL);
	cr_assert_not_null(mail, "the good server received nothing");
	expect_text(mail, "Subject: hostile", "the delivered message");
	expect_text(mail, "the body", "the delivered message");
	free(mail);
}

Test(hostile, data_answered_250_is_not_sent)
{
	kept_after("data-250", "250 2.0.0 OK where 354 or a refusal belongs");
}

Test(hostile, data_answered_250_send_is_a_protocol_error)
{
	struct tu_run r;

	profile(bad("data-250", NULL), NULL);
	r = eng("body\n", "send", NULL);
	expect_exit(&r, EXIT_PROTOCOL, "send");
	expect_text(r.err, "not delivered", "send's log");
	tu_run_free(&r);
}

Test(hostile, connection_lost_after_354_is_not_sent)
{
	kept_after("data-close", "closed the connection");
}

/* Time limits: the whole reply, not the gap between two bytes. */

Test(hostile, dripped_reply_times_out)
{
	struct tu_run r;
	long long t0 = tu_now_ms();

	profile(bad("drip", "--length", "400", "--drip-ms", "100", NULL),
	    "timeout=2", NULL);
	r = eng("body\n", "send", NULL);
	expect_exit(&r, EXIT_TEMPFAIL, "send");
	expect_text(r.err, "did not send a complete reply within 2 s",
	    "send's log");
	/* 410 bytes at 100 ms: 41 s if the gaps were what counted. */
	cr_expect_lt(tu_now_ms() - t0, 30000, "took %lld ms",
	    tu_now_ms() - t0);
	tu_run_free(&r);
}

Test(hostile, dripped_tls_handshake_times_out)
{
	struct tu_run r;

	profile(bad("drip-tls", NULL), "tls=implicit", "timeout=2", NULL);
	r = eng("body\n", "send", NULL);
	cr_assert_neq(r.status, EXIT_TIMEDOUT, "send hung:\n%s", r.err);
	cr_assert_neq(r.status, 0);
	expect_text(r.err, "timed out", "send's log");
	tu_run_free(&r);
}

Test(hostile, server_that_stops_reading_times_out)
{
	size_t len = 32u << 20;		/* more than the socket buffers */
	char *big = xmalloc(len);
	const char *path = tu_fmt("%s/big.eml", dir);
	struct tu_run r;

	memcpy(big, "Subject: big\r\n\r\n", 16);
	for (size_t i = 16; i < len; i++)
		big[i] = i % 100 == 99 ? '\n' : 'x';
	tu_write_file(path, big, len);
	free(big);
	profile(bad("data-noread", NULL), "timeout=2", NULL);
	r = eng(NULL, "send", "--message", path, NULL);
	expect_exit(&r, EXIT_TEMPFAIL, "send");
	expect_text(r.err, "did not take", "send's log");
	tu_run_free(&r);
}

/* Waits up to ms for pid to end; its exit status, or -1 if it did not. */
static int
wait_exit(pid_t pid, long long ms)
{
	long long end = tu_now_ms() + ms;
	int status;

	while (tu_now_ms() < end) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) :
			    128 + WTERMSIG(status);
		usleep(20000);
	}
	return -1;
}

Test(hostile, daemon_stops_within_timeout_while_a_reply_drips)
{
	const char *err = tu_fmt("%s/daemon.err", dir);
	long long id, t0;
	int status, fd;

	profile(bad("drip", "--length", "400", "--drip-ms", "100", NULL),
	    "timeout=4", NULL);
	id = submit();
	daemon_pid = fork();
	cr_assert(daemon_pid != -1);
	if (daemon_pid == 0) {
		fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 2);
		execl(getenv("GWENGINE"), "gwengine", "--db", db, "run",
		    (char *)NULL);
		_exit(127);
	}
	/* The data went out (QUIT is not logged): the reply is dripping. */
	for (t0 = tu_now_ms(); strstr(server_log(), "DATA") == NULL;) {
		cr_assert_lt(tu_now_ms() - t0, 30000, "no DATA:\n%s",
		    server_log());
		usleep(20000);
	}
	usleep(500000);
	t0 = tu_now_ms();
	kill(daemon_pid, SIGTERM);
	status = wait_exit(daemon_pid, 30000);
	cr_assert_neq(status, -1, "the daemon did not end 30 s after SIGTERM");
	daemon_pid = -1;
	cr_expect_eq(status, 0, "exit %d:\n%s", status, tu_read_file(err, NULL));
	/* timeout=4 from the signal at the latest; the rest is slack. */
	cr_expect_lt(tu_now_ms() - t0, 15000, "ended %lld ms after SIGTERM",
	    tu_now_ms() - t0);
	expect_state(id, "deferred", "pending");
}

/* Secrets: no reply to AUTH is shown or stored with its text. */

/* The forms of the credentials a server could echo back. */
static void
expect_no_credentials(const char *text, const char *where)
{
	static const char plain[] = "\0" USER "\0" PASSWORD;
	char *b64;

	expect_no_text(text, PASSWORD, where);
	b64 = base64_encode(plain, sizeof plain - 1);
	expect_no_text(text, b64, where);
	free(b64);
	b64 = base64_encode(PASSWORD, strlen(PASSWORD));
	expect_no_text(text, b64, where);
	free(b64);
}

static void
auth_echo(const char *scenario, const char *mech)
{
	struct tu_run r;

	profile(bad(scenario, NULL), tu_fmt("auth=%s", mech),
	    "username=" USER, "allow_plain_auth_without_tls=true", NULL);
	r = eng("body\n", "send", NULL);
	cr_assert(r.status == EXIT_NOPERM || r.status == EXIT_PROTOCOL,
	    "send: exit %d\n%s", r.status, r.err);
	expect_text(r.err, "535", "send's log");
	expect_no_credentials(r.err, "send's log");
	expect_no_credentials(r.out, "send's output");
	tu_run_free(&r);

	r = eng(NULL, "probe", "p", NULL);
	expect_no_credentials(r.err, "probe's log");
	expect_no_credentials(r.out, "probe");
	tu_run_free(&r);
	r = eng(NULL, "probe", "p", "--json", NULL);
	expect_no_credentials(r.out, "probe --json");
	tu_run_free(&r);

	submit();
	r = eng(NULL, "run", "--once", NULL);
	expect_no_credentials(r.err, "run's log");
	tu_run_free(&r);
	r = eng(NULL, "queue", NULL);
	expect_no_credentials(r.out, "queue");
	tu_run_free(&r);
	r = eng(NULL, "queue", "--json", NULL);
	expect_text(r.out, "535", "queue --json");
	expect_no_credentials(r.out, "queue --json");
	tu_run_free(&r);
	/* The server did see them: the test is not vacuous. */
	expect_text(server_log(), "AUTH", "the server's log");
}

Test(hostile, auth_echo_plain)
{
	auth_echo("auth-echo", "plain");
}

Test(hostile, auth_echo_login)
{
	auth_echo("auth-echo", "login");
}

Test(hostile, auth_echo_in_an_invalid_reply)
{
	struct tu_run r;

	profile(bad("auth-echo-long", NULL), "auth=plain",
	    "username=" USER, "allow_plain_auth_without_tls=true", NULL);
	r = eng("body\n", "send", NULL);
	expect_exit(&r, EXIT_PROTOCOL, "send");
	expect_text(r.err, "invalid reply (not shown", "send's log");
	expect_no_credentials(r.err, "send's log");
	tu_run_free(&r);
}

/* Trusting the store: what gwadmin and submit refuse, the engine does. */

/* Runs sqlite3 DB SQL (the store's own file, behind gwadmin's back). */
static void
sql(const char *statement)
{
	const char *argv[] = { "sqlite3", db, statement, NULL };
	struct tu_run r;

	tu_need_tool("sqlite3");
	tu_run_cmd(&r, NULL, argv);
	cr_assert_eq(r.status, 0, "sqlite3 %s: %s", statement, r.err);
	tu_run_free(&r);
}

/* column is key's column in the profiles table. */
static void
stored_profile_refused(const char *key, const char *column,
    const char *const *extra)
{
	struct tu_run r;

	tu_sqlite_only("the sqlite3 shell writes the database");
	profile(bad("normal", NULL), extra[0], extra[1], extra[2], NULL);
	sql(tu_fmt("UPDATE profiles SET %s = 'x@example.com' || "
	    "char(13, 10) || 'RCPT TO:<evil@example.org>'", column));
	r = eng("body\n", "send", NULL);
	expect_exit(&r, EXIT_CONFIG, "send");
	expect_text(r.err, tu_fmt("%s: must not contain control characters",
	    key), "send's log");
	tu_run_free(&r);
	r = eng(NULL, "probe", "p", NULL);
	expect_exit(&r, EXIT_CONFIG, "probe");
	tu_run_free(&r);
	expect_no_text(server_log(), "evil", "the server's log");
	expect_no_text(server_log(), "EHLO", "the server's log");
}

Test(hostile, stored_helo_with_crlf)
{
	stored_profile_refused("helo", "helo", (const char *const[]){
	    "helo=gw.example.com", NULL, NULL });
}

Test(hostile, stored_from_with_crlf)
{
	stored_profile_refused("from", "from_addr", (const char *const[]){
	    NULL, NULL, NULL });
}

Test(hostile, stored_username_with_crlf)
{
	stored_profile_refused("username", "username", (const char *const[]){
	    "auth=plain", "username=" USER,
	    "allow_plain_auth_without_tls=true" });
}

Test(hostile, stored_trace_with_crlf)
{
	stored_profile_refused("trace", "trace", (const char *const[]){
	    "auth=anonymous", "trace=t@example.com", NULL });
}

/* A queued message changed in the database: failed, nothing sent. */
static void
stored_message_refused(const char *statement, const char *said)
{
	struct tu_run r;
	long long id;
	yajl_val e;

	tu_sqlite_only("the sqlite3 shell writes the database");
	profile(bad("normal", NULL), NULL);
	id = submit();
	sql(statement);
	r = eng(NULL, "run", "--once", NULL);
	expect_exit(&r, 0, "run --once");
	tu_run_free(&r);
	e = entry(id);
	cr_assert_str_eq(tu_jstr(e, "state"), "failed", "%s",
	    tu_jstr(e, "last_reply"));
	expect_text(tu_jstr(e, "last_reply"), said, "last_reply");
	expect_no_text(server_log(), "evil", "the server's log");
	expect_no_text(server_log(), "MAIL", "the server's log");
}

Test(hostile, stored_recipient_with_crlf)
{
	stored_message_refused("UPDATE queue_rcpt SET addr = addr || "
	    "char(13, 10) || 'RCPT TO:<evil@example.org>'",
	    "stored recipient");
}

Test(hostile, stored_sender_with_crlf)
{
	stored_message_refused("UPDATE queue SET sender = sender || "
	    "char(13, 10) || 'RCPT TO:<evil@example.org>'", "stored sender");
}

Test(hostile, stored_data_that_ends_early)
{
	stored_message_refused("UPDATE queue_data SET data = "
	    "CAST('Subject: x' || char(13, 10, 13, 10) || 'hi' || "
	    "char(13, 10) || '.' || char(13, 10) || 'MAIL FROM:<evil@"
	    "example.org>' || char(13, 10) || '.' || char(13, 10) AS BLOB)",
	    "dot that is not doubled");
}

/*
 * The last guard: a profile built in memory with a line break in its EHLO
 * name (what no validation would let through) never reaches the wire.
 */
Test(hostile, command_with_crlf_never_written)
{
	struct profile *p = profile_new("g");
	struct smtp_session *s = NULL;
	char *cause = NULL;
	enum smtp_status st;

	p->host = xstrdup("127.0.0.1");
	p->port = bad("normal", NULL);
	p->tls = PROFILE_TLS_NONE;
	p->timeout = 5;
	st = smtp_open(p, "gw.example.com\r\nMAIL FROM:<evil@example.org>",
	    NULL, &s, &cause);
	cr_assert_eq(st, SMTP_ERR_CONFIG, "status %d: %s", st, cause);
	cr_assert_null(s);
	expect_text(cause, "line break", "the cause");
	/* The greeting was read; nothing at all was written. */
	expect_no_text(server_log(), "EHLO", "the server's log");
	expect_no_text(server_log(), "evil", "the server's log");
	free(cause);
	profile_free(p);
}

/* Core files and ptrace: the memory of a process holding a password. */

/* Starts gwadmin set --password-stdin as uid (or as root with uid 0),
 * blocked on its standard input; returns its pid and the pipe to feed. */
static pid_t
blocked_gwadmin(const char *dbpath, const char *uid, int *feed)
{
	int in[2];
	pid_t pid;

	cr_assert(pipe(in) == 0);
	pid = fork();
	cr_assert(pid != -1);
	if (pid == 0) {
		dup2(in[0], 0);
		close(in[1]);
		if (uid != NULL)
			execlp("setpriv", "setpriv", tu_fmt("--reuid=%s", uid),
			    tu_fmt("--regid=%s", uid), "--clear-groups",
			    getenv("GWADMIN"), "--db", dbpath, "set", "p",
			    "host=127.0.0.1", "--password-stdin", (char *)NULL);
		else
			execl(getenv("GWADMIN"), "gwadmin", "--db", dbpath,
			    "set", "p", "host=127.0.0.1", "--password-stdin",
			    (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	*feed = in[1];
	return pid;
}

/* Whether /proc/PID/limits says "Max core file size 0 0". */
static bool
no_core_file(pid_t pid)
{
	char *limits = tu_read_file(tu_fmt("/proc/%d/limits", (int)pid), NULL);
	char soft[32] = "", hard[32] = "";
	const char *line;

	line = limits ? strstr(limits, "Max core file size") : NULL;
	if (line != NULL)
		sscanf(line, "Max core file size %31s %31s", soft, hard);
	free(limits);
	return strcmp(soft, "0") == 0 && strcmp(hard, "0") == 0;
}

/* Whether /proc/PID/mem belongs to root (the process is not dumpable). */
static bool
undumpable(pid_t pid)
{
	struct stat sb;

	return stat(tu_fmt("/proc/%d/mem", (int)pid), &sb) == 0 &&
	    sb.st_uid == 0;
}

/*
 * Polls check(pid) until it holds, up to 30 s: a process that does not
 * get there in that time never will (it waits on its standard input).
 */
static bool
comes_true(bool (*check)(pid_t), pid_t pid)
{
	for (long long t0 = tu_now_ms(); tu_now_ms() - t0 < 30000;) {
		if (check(pid))
			return true;
		usleep(20000);
	}
	return false;
}

Test(hostile, no_core_file_and_no_ptrace)
{
	const char *home = tu_fmt("%s/nobody", dir);
	pid_t pid;
	int feed, status;

	/* As root: the limit is 0, soft and hard. */
	pid = blocked_gwadmin(db, NULL, &feed);
	cr_expect(comes_true(no_core_file, pid), "gwadmin may dump core");
	cr_assert_eq(write(feed, "pw\n", 3), 3);
	close(feed);
	waitpid(pid, &status, 0);
	cr_expect_eq(WEXITSTATUS(status), 0);

	/*
	 * As another user: an undumpable process's /proc entries belong to
	 * root, so that user's other processes cannot read its memory.
	 */
	if (geteuid() != 0) {
		cr_assert_null(getenv("CI"), "CI runs the tests as root");
		cr_skip_test("needs root to run as nobody");
	}
	tu_need_tool("setpriv");
	cr_assert(mkdir(home, 0700) == 0);
	cr_assert(chown(home, 65534, 65534) == 0);
	cr_assert(chmod(dir, 0711) == 0);
	pid = blocked_gwadmin(tu_keep(tu_db(home, "gw.db")), "65534", &feed);
	cr_expect(comes_true(undumpable, pid), "nobody's gwadmin stays "
	    "dumpable: its other processes can read its memory");
	cr_assert_eq(write(feed, "pw\n", 3), 3);
	close(feed);
	waitpid(pid, &status, 0);
	cr_expect_eq(WEXITSTATUS(status), 0);
}

/* Whether file holds text (false while it does not exist). */
static bool
file_says(const char *file, const char *text)
{
	char *got = tu_read_file(file, NULL);
	bool says = got != NULL && strstr(got, text) != NULL;

	free(got);
	return says;
}

Test(hostile, engine_daemon_has_no_core_file)
{
	const char *err = tu_fmt("%s/daemon.err", dir);
	long long t0;
	int status;

	profile(bad("normal", NULL), NULL);
	daemon_pid = fork();
	cr_assert(daemon_pid != -1);
	if (daemon_pid == 0) {
		int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 2);
		execl(getenv("GWENGINE"), "gwengine", "--db", db, "run",
		    (char *)NULL);
		_exit(127);
	}
	cr_expect(comes_true(no_core_file, daemon_pid), "gwengine run may "
	    "dump core");
	/* SIGTERM once run has taken the signals over, not before. */
	for (t0 = tu_now_ms(); !file_says(err, "run: delivering the queue");) {
		cr_assert_lt(tu_now_ms() - t0, 30000, "run did not start:\n%s",
		    tu_keep(tu_read_file(err, NULL)));
		usleep(20000);
	}
	kill(daemon_pid, SIGTERM);
	status = wait_exit(daemon_pid, 30000);
	daemon_pid = -1;
	cr_expect_eq(status, 0);
}
