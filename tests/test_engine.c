/*
 * tests/test_engine.c: gwengine end to end.  Each test makes its profile
 * with the real gwadmin in a fresh database, starts its own server on a
 * loopback port -- aiosmtpd through tests/servers/smtpd.py, or a scripted
 * misbehaving one (tests/servers/badsmtp.py) -- and runs the real gwengine.
 *
 * What is checked is what a user would check: the exit code, what gwengine
 * said, and what reached the server (its maildir and its log of command
 * lines).  Never the engine's internals.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "core/base64.h"
#include "core/xmalloc.h"
#include "tests/servers.h"
#include "tests/testutil.h"

/* sysexits.h, spelled out: these numbers are the contract (SPEC 7). */
#define EXIT_USAGE	64
#define EXIT_DATAERR	65
#define EXIT_NOINPUT	66
#define EXIT_UNAVAIL	69
#define EXIT_TEMPFAIL	75
#define EXIT_PROTOCOL	76
#define EXIT_NOPERM	77
#define EXIT_CONFIG	78

#define USER		"gw-user"
#define MAX_SERVERS	4
#define MAX_ARGS	64

static char		*dir;		/* this test's own directory */
static char		*db;
static char		*maildir;	/* smtpd.py --maildir */
static char		*logpath;	/* the server's --log */
static struct tu_server	*servers[MAX_SERVERS];
static size_t		 nservers;
static pid_t		 helper_pid = -1;	/* mini_server()'s */

static void
setup(void)
{
	dir = tu_tmpdir();
	db = tu_db(dir, "gw.db");
	maildir = xasprintf("%s/mail", dir);
	logpath = xasprintf("%s/server.log", dir);
	unsetenv("GWSMTP_DB");
}

static void
teardown(void)
{
	for (size_t i = 0; i < nservers; i++)
		tu_server_stop(servers[i]);
	nservers = 0;
	if (helper_pid > 0) {
		kill(helper_pid, SIGKILL);
		waitpid(helper_pid, NULL, 0);
		helper_pid = -1;
	}
	tu_kept_free();
	tu_rmtree(dir);
	free(dir);
	free(db);
	free(maildir);
	free(logpath);
}

TestSuite(engine, .init = setup, .fini = teardown);


static const char *
cert(const char *name)
{
	return tu_keep(tu_cert(name));
}

static const char *
path_in_dir(const char *name)
{
	return tu_fmt("%s/%s", dir, name);
}


/* servers */

/*
 * Starts tests/servers/SCRIPT with args (NULL-terminated), adding --log
 * (and --maildir for smtpd.py); returns its port.
 */
static int
serve_argv(const char *script, const char *const *given)
{
	const char *args[MAX_ARGS];
	struct tu_server *s;
	size_t n = 0;

	for (; given[n] != NULL; n++) {
		cr_assert(n < MAX_ARGS - 5);
		args[n] = given[n];
	}
	args[n++] = "--log";
	args[n++] = logpath;
	if (strcmp(script, "smtpd.py") == 0) {
		args[n++] = "--maildir";
		args[n++] = maildir;
	}
	args[n] = NULL;
	cr_assert(nservers < MAX_SERVERS);
	s = tu_server_start(script, args);
	servers[nservers++] = s;
	return tu_server_port(s);
}

/* serve_argv() with the arguments given one by one, NULL at the end. */
static int
serve(const char *script, ...)
{
	const char *args[MAX_ARGS];
	size_t n = 0;
	va_list ap;

	va_start(ap, script);
	while ((args[n] = va_arg(ap, const char *)) != NULL)
		cr_assert(++n < MAX_ARGS);
	va_end(ap);
	return serve_argv(script, args);
}

/* The server's command log. */
static char *
server_log(void)
{
	char *s = tu_read_file(logpath, NULL);

	return (char *)tu_keep(s ? s : xstrdup(""));
}

/* How many logged command lines start with verb (a whole word). */
static int
log_count(const char *verb)
{
	return tu_count_verb(server_log(), verb);
}

/* Asserts every logged line starts with one of the verbs (NULL-ended). */
static void
log_only(const char *const *verbs)
{
	const char *log = server_log(), *line = log;

	while (*line != '\0') {
		size_t len = strcspn(line, "\n");
		bool ok = false;

		for (size_t i = 0; verbs[i] != NULL && !ok; i++) {
			size_t vl = strlen(verbs[i]);

			ok = len >= vl &&
			    strncasecmp(line, verbs[i], vl) == 0 &&
			    (len == vl || line[vl] == ' ');
		}
		cr_assert(ok, "the server received '%.*s'; the whole log:\n%s",
		    (int)len, line, log);
		line += len;
		if (*line == '\n')
			line++;
	}
}

/* maildir: DIR/mail/%04d.eml and .json */

static char *
mail_file(int k, const char *ext, size_t *len)
{
	char *path = xasprintf("%s/%04d.%s", maildir, k, ext);
	char *s = tu_read_file(path, len);

	free(path);
	return s ? (char *)tu_keep(s) : NULL;
}

static yajl_val
mail_json(int k)
{
	char *text = mail_file(k, "json", NULL), err[256];
	yajl_val v;

	cr_assert_not_null(text, "the server stored no message %d", k);
	v = yajl_tree_parse(text, err, sizeof err);
	cr_assert_not_null(v, "%04d.json: %s", k, err);
	return v;
}


static bool
jtrue(yajl_val v, const char *key)
{
	return YAJL_IS_TRUE(tu_jget(v, key));
}

static size_t
jlen(yajl_val v, const char *key)
{
	yajl_val x = tu_jget(v, key);

	cr_assert(x != NULL && YAJL_IS_ARRAY(x), "%s is not an array", key);
	return YAJL_GET_ARRAY(x)->len;
}

static const char *
jitem(yajl_val v, const char *key, size_t i)
{
	yajl_val x = tu_jget(v, key);

	cr_assert(x != NULL && YAJL_IS_ARRAY(x) && i < YAJL_GET_ARRAY(x)->len);
	x = YAJL_GET_ARRAY(x)->values[i];
	return YAJL_IS_STRING(x) ? YAJL_GET_STRING(x) : NULL;
}

/* Whether tu_jstr(v, key) equals want (NULL: JSON null). */
static void
assert_jstr(yajl_val v, const char *key, const char *want)
{
	const char *got = tu_jstr(v, key);

	if (want == NULL)
		cr_assert_null(got, "%s: '%s', expected null", key, got);
	else
		cr_assert(got != NULL && strcmp(got, want) == 0,
		    "%s: '%s', expected '%s'", key, got ? got : "(null)", want);
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

/*
 * gwadmin set NAME KEY=VALUE... (keys NULL-terminated); the password (if
 * not NULL) through --password-stdin, as an administrator would give it.
 */
static void
profile_argv(const char *name, const char *password, const char *const *keys)
{
	const char *argv[MAX_ARGS] = { "--db", db, "set", name };
	struct tu_run r;
	char *in = NULL;
	size_t n = 4;

	for (size_t i = 0; keys[i] != NULL; i++) {
		cr_assert(n < MAX_ARGS - 2);
		argv[n++] = keys[i];
	}
	if (password != NULL) {
		argv[n++] = "--password-stdin";
		in = xasprintf("%s\n", password);
	}
	argv[n] = NULL;
	tu_gwadmin(&r, in, argv);
	cr_assert_eq(r.status, 0, "gwadmin set %s: exit %d\nstdout: %s\n"
	    "stderr: %s", name, r.status, r.out, r.err);
	tu_run_free(&r);
	free(in);
}

/* profile_argv() with the keys given one by one, NULL at the end. */
static void
profile(const char *name, const char *password, ...)
{
	const char *keys[MAX_ARGS];
	size_t n = 0;
	va_list ap;

	va_start(ap, password);
	while ((keys[n] = va_arg(ap, const char *)) != NULL)
		cr_assert(++n < MAX_ARGS);
	va_end(ap);
	profile_argv(name, password, keys);
}

/* gwengine */

/*
 * Runs pre... (NULL-terminated, may be NULL: e.g. strace and its options),
 * then $GWENGINE --db DB args... (NULL-terminated), stdin from in.
 */
static void
run_engine(struct tu_run *r, const char *in, const char *const *pre,
    const char *const *args)
{
	const char *prog = getenv("GWENGINE");
	size_t npre = 0, nargs = 0, n = 0;
	const char **argv;

	cr_assert_not_null(prog, "GWENGINE is not set (run through meson "
	    "test)");
	/*
	 * tu_run_cmd() ignores SIGPIPE here, and an ignored signal stays
	 * ignored across exec: give gwengine the default a shell gives it.
	 */
	signal(SIGPIPE, SIG_DFL);
	while (pre != NULL && pre[npre] != NULL)
		npre++;
	while (args[nargs] != NULL)
		nargs++;
	argv = xcalloc(npre + nargs + 4, sizeof *argv);
	for (size_t i = 0; i < npre; i++)
		argv[n++] = pre[i];
	argv[n++] = prog;
	argv[n++] = "--db";
	argv[n++] = db;
	for (size_t i = 0; i < nargs; i++)
		argv[n++] = args[i];
	tu_run_cmd(r, in, argv);
	free(argv);
}

/* gwengine --db DB ARGS... with stdin from in (NULL: empty). */
static struct tu_run
eng(const char *in, ...)
{
	const char *args[MAX_ARGS];
	struct tu_run r;
	size_t n = 0;
	va_list ap;

	va_start(ap, in);
	while ((args[n] = va_arg(ap, const char *)) != NULL)
		cr_assert(++n < MAX_ARGS);
	va_end(ap);
	run_engine(&r, in, NULL, args);
	return r;
}

static void
expect_exit(const struct tu_run *r, int want)
{
	cr_assert_eq(r->status, want, "gwengine: exit %d, expected %d\n"
	    "stdout: %s\nstderr: %s\nserver log:\n%s", r->status, want, r->out,
	    r->err, server_log());
}

static void
expect_err(const struct tu_run *r, const char *what)
{
	cr_assert(strcasestr(r->err, what) != NULL,
	    "gwengine's stderr does not mention '%s':\n%s", what, r->err);
}

/*
 * SPEC 7: passwords and AUTH payloads never appear in any output.  Checks
 * the password itself, PLAIN's initial response and LOGIN's answers.
 */
static void
expect_no_secret(const struct tu_run *r, const char *password)
{
	size_t ul = strlen(USER), pl = strlen(password);
	char *raw = xcalloc(ul + pl + 3, 1);
	char *forms[4];

	/* authzid (empty) NUL authcid NUL passwd (RFC 4616) */
	memcpy(raw + 1, USER, ul);
	memcpy(raw + 2 + ul, password, pl);
	forms[0] = xstrdup(password);
	forms[1] = base64_encode(raw, ul + pl + 2);
	forms[2] = base64_encode(password, pl);
	forms[3] = base64_encode(raw + 1, ul + pl + 1);
	for (size_t i = 0; i < 4; i++) {
		cr_assert_null(strstr(r->out, forms[i]),
		    "stdout shows a secret (%s):\n%s", forms[i], r->out);
		cr_assert_null(strstr(r->err, forms[i]),
		    "stderr shows a secret (%s):\n%s", forms[i], r->err);
		free(forms[i]);
	}
	free(raw);
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

/* The message of the matrix: dot-stuffing and 8-bit text on the way. */
static const char matrix_message[] =
    "Date: Mon, 02 Jun 2025 10:00:00 +0000\r\n"
    "Message-ID: <matrix-1@gwsmtp.test>\r\n"
    "From: Gateway <gw@example.com>\r\n"
    "To: Reader <reader@example.net>\r\n"
    "Subject: matrix\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    ".leading dot\r\n"
    "..\r\n"
    ".\r\n"
    "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln \xe2\x80\x94 "
    "\xe6\x97\xa5\xe6\x9c\xac\r\n"
    "...three\r\n"
    "last line\r\n";

static const char *
tls_mode_of(const char *tls)
{
	if (strcmp(tls, "explicit") == 0)
		return "starttls";
	if (strcmp(tls, "implicit") == 0)
		return "implicit";
	return "plain";
}

/* Sends matrix_message with tls and auth through host; checks all. */
static void
matrix(const char *tls, const char *auth, const char *host)
{
	bool secure = strcmp(tls, "none") != 0;
	bool password_auth = strcmp(auth, "plain") == 0 ||
	    strcmp(auth, "login") == 0;
	const char *password = tu_fmt("pw-%s-%s-S3kr1t!", tls, auth);
	const char *file = path_in_dir("msg.eml");
	const char *sargs[MAX_ARGS] = { "--mode", tls_mode_of(tls) };
	const char *keys[MAX_ARGS];
	size_t n = 2, len;
	struct tu_run r;
	yajl_val j;
	char *eml;
	int port;

	if (secure) {
		sargs[n++] = "--cert";
		sargs[n++] = cert("good.pem");
		sargs[n++] = "--key";
		sargs[n++] = cert("good-key.pem");
	}
	if (strcmp(auth, "none") != 0) {
		sargs[n++] = "--auth";
		sargs[n++] = "--user";
		sargs[n++] = USER;
		sargs[n++] = "--password";
		sargs[n++] = password;
		sargs[n++] = "--mechanisms";
		sargs[n++] = tu_fmt("%c%s", toupper((unsigned char)auth[0]),
		    auth + 1);
		if (!secure)
			sargs[n++] = "--no-auth-require-tls";
	}
	sargs[n] = NULL;
	port = serve_argv("smtpd.py", sargs);

	n = 0;
	keys[n++] = tu_fmt("host=%s", host);
	keys[n++] = tu_fmt("port=%d", port);
	keys[n++] = tu_fmt("tls=%s", tls);
	keys[n++] = tu_fmt("auth=%s", auth);
	keys[n++] = "from=gw@example.com";
	keys[n++] = "to=reader@example.net";
	keys[n++] = "timeout=10";
	if (secure)
		keys[n++] = tu_fmt("ca_file=%s", cert("ca.pem"));
	if (password_auth)
		keys[n++] = "username=" USER;
	if (strcmp(auth, "anonymous") == 0)
		keys[n++] = "trace=gw-trace-42";
	if (password_auth && !secure)
		keys[n++] = "allow_plain_auth_without_tls=true";
	keys[n] = NULL;
	profile_argv("m", password_auth ? password : NULL, keys);
	admin("settings", "default_profile=m", NULL);
	tu_write_file(file, matrix_message, sizeof matrix_message - 1);

	/* No --profile: the default one. */
	r = eng(NULL, "send", "--message", file, NULL);
	expect_exit(&r, 0);
	expect_err(&r, "status=sent");
	expect_err(&r, "profile=m ");
	expect_err(&r, secure ? "tls=TLS1." : "tls=none");
	expect_err(&r, tu_fmt("auth=%s", auth));
	cr_assert_eq(count_of(r.err, "status="), 1, "one log line per "
	    "message:\n%s", r.err);
	if (password_auth)
		expect_no_secret(&r, password);
	tu_run_free(&r);

	eml = mail_file(1, "eml", &len);
	cr_assert_not_null(eml, "the server stored nothing");
	cr_assert_eq(len, sizeof matrix_message - 1,
	    "received %zu bytes, sent %zu:\n%s", len,
	    sizeof matrix_message - 1, eml);
	cr_assert(memcmp(eml, matrix_message, len) == 0,
	    "the message arrived changed:\n%s", eml);
	cr_assert_null(mail_file(2, "eml", NULL), "stored twice");

	j = mail_json(1);
	assert_jstr(j, "mail_from", "gw@example.com");
	cr_assert_eq(jlen(j, "rcpt_tos"), 1);
	cr_assert_str_eq(jitem(j, "rcpt_tos", 0), "reader@example.net");
	cr_assert_eq(jtrue(j, "tls"), secure, "tls: %s", secure ? "false" :
	    "true");
	if (strcmp(auth, "none") == 0)
		assert_jstr(j, "auth_mechanism", NULL);
	else
		assert_jstr(j, "auth_mechanism", tu_fmt("%s",
		    strcmp(auth, "plain") == 0 ? "PLAIN" :
		    strcmp(auth, "login") == 0 ? "LOGIN" : "ANONYMOUS"));
	assert_jstr(j, "auth_login", password_auth ? USER : NULL);
	assert_jstr(j, "auth_trace", strcmp(auth, "anonymous") == 0 ?
	    "gw-trace-42" : NULL);
	yajl_tree_free(j);
	if (strcmp(tls, "explicit") == 0)
		cr_assert_eq(log_count("STARTTLS"), 1);
	else
		cr_assert_eq(log_count("STARTTLS"), 0);
}

/* 1. Every TLS mode with every authentication method. */
Test(engine, none_none)
{
	matrix("none", "none", "127.0.0.1");
}

Test(engine, none_plain)
{
	matrix("none", "plain", "127.0.0.1");
}

Test(engine, none_login)
{
	matrix("none", "login", "localhost");
}

Test(engine, none_anonymous)
{
	matrix("none", "anonymous", "localhost");
}

Test(engine, explicit_none)
{
	matrix("explicit", "none", "localhost");
}

Test(engine, explicit_plain)
{
	matrix("explicit", "plain", "127.0.0.1");
}

Test(engine, explicit_login)
{
	matrix("explicit", "login", "localhost");
}

Test(engine, explicit_anonymous)
{
	matrix("explicit", "anonymous", "127.0.0.1");
}

Test(engine, implicit_none)
{
	matrix("implicit", "none", "127.0.0.1");
}

Test(engine, implicit_plain)
{
	matrix("implicit", "plain", "localhost");
}

Test(engine, implicit_login)
{
	matrix("implicit", "login", "127.0.0.1");
}

Test(engine, implicit_anonymous)
{
	matrix("implicit", "anonymous", "localhost");
}

/* A plain server and the default profile "p" (from and to set). */
static int
plain_profile(void)
{
	int port = serve("smtpd.py", NULL);

	profile("p", NULL, "host=127.0.0.1", tu_fmt("port=%d", port), "tls=none",
	    "from=gw@example.com", "to=reader@example.net", "timeout=10",
	    NULL);
	admin("settings", "default_profile=p", NULL);
	return port;
}

/* Message parsing for the built-message tests. */

/* The header of msg (to the empty line), unfolded; *body: what follows. */
static char *
header_of(const char *msg, const char **body)
{
	const char *end = strstr(msg, "\r\n\r\n");
	char *h, *o;

	cr_assert_not_null(end, "no end of header in:\n%s", msg);
	*body = end + 4;
	h = xstrndup(msg, (size_t)(end - msg) + 2);
	/* Unfold: CRLF followed by white space is removed (RFC 5322 2.2.3). */
	o = h;
	for (const char *i = h; *i != '\0'; i++) {
		if (i[0] == '\r' && i[1] == '\n' &&
		    (i[2] == ' ' || i[2] == '\t'))
			i++;
		else
			*o++ = *i;
	}
	*o = '\0';
	return (char *)tu_keep(h);
}

/* The value of header field name (unfolded header), or NULL. */
static const char *
field(const char *header, const char *name)
{
	size_t nl = strlen(name);

	for (const char *l = header; *l != '\0';) {
		size_t len = strcspn(l, "\r\n");

		if (len > nl && strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
			const char *v = l + nl + 1;

			while (*v == ' ' || *v == '\t')
				v++;
			return tu_fmt("%.*s", (int)(len - (size_t)(v - l)), v);
		}
		l += len;
		while (*l == '\r' || *l == '\n')
			l++;
	}
	return NULL;
}

/* A parameter of a structured field: name="value" or name=value. */
static const char *
param(const char *value, const char *name)
{
	const char *p = value;
	size_t nl = strlen(name);

	while ((p = strcasestr(p, name)) != NULL) {
		if ((p == value || p[-1] == ' ' || p[-1] == ';' ||
		    p[-1] == '\t') && p[nl] == '=') {
			p += nl + 1;
			if (*p == '"')
				return tu_fmt("%.*s", (int)strcspn(p + 1, "\""),
				    p + 1);
			return tu_fmt("%.*s", (int)strcspn(p, "; \t"), p);
		}
		p += nl;
	}
	return NULL;
}

/* Decodes base64 spread over CRLF-ended lines; fails the test if invalid. */
static unsigned char *
unbase64(const char *text, size_t textlen, size_t *len)
{
	char *flat = xmalloc(textlen + 1), *o = flat;
	unsigned char *out;

	for (size_t i = 0; i < textlen; i++) {
		if (text[i] != '\r' && text[i] != '\n')
			*o++ = text[i];
	}
	*o = '\0';
	cr_assert_eq(base64_decode(flat, &out, len), 0,
	    "not valid base64:\n%s", flat);
	free(flat);
	return (unsigned char *)tu_keep((char *)out);
}

static int
hexval(int c)
{
	return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

/*
 * RFC 2047: decodes the encoded-words of a header value (B and Q, UTF-8),
 * dropping the white space between adjacent ones.
 */
static const char *
decode_words(const char *v)
{
	char *out = xmalloc(strlen(v) + 1), *o = out;
	bool last_word = false;

	while (*v != '\0') {
		const char *cs, *enc, *text, *end;

		if (v[0] == '=' && v[1] == '?' && (cs = v + 2) &&
		    (enc = strchr(cs, '?')) != NULL && enc[1] != '\0' &&
		    enc[2] == '?' && (end = strstr(enc + 3, "?=")) != NULL) {
			text = enc + 3;
			if (toupper((unsigned char)enc[1]) == 'B') {
				char *b = xstrndup(text, (size_t)(end - text));
				unsigned char *d;
				size_t dl;

				cr_assert_eq(base64_decode(b, &d, &dl), 0,
				    "bad B word '%s'", b);
				memcpy(o, d, dl);
				o += dl;
				free(d);
				free(b);
			} else {
				for (const char *q = text; q < end; q++) {
					if (*q == '_')
						*o++ = ' ';
					else if (*q == '=' && q + 2 < end) {
						*o++ = (char)(hexval(q[1]) *
						    16 + hexval(q[2]));
						q += 2;
					} else
						*o++ = *q;
				}
			}
			v = end + 2;
			last_word = true;
			continue;
		}
		if (last_word && (*v == ' ' || *v == '\t')) {
			size_t ws = strspn(v, " \t");

			if (v[ws] == '=' && v[ws + 1] == '?') {
				v += ws;
				continue;
			}
		}
		last_word = false;
		*o++ = *v++;
	}
	*o = '\0';
	return tu_keep(out);
}

struct part {
	const char	*header;	/* unfolded */
	const char	*body;
	size_t		 len;
};

/* Splits a multipart body by its boundary; returns the number of parts. */
static size_t
split_parts(const char *body, const char *boundary, struct part *parts,
    size_t max)
{
	const char *delim = tu_fmt("--%s", boundary);
	const char *p = strstr(body, delim), *next;
	size_t n = 0;

	cr_assert_not_null(p, "no boundary '%s' in:\n%s", boundary, body);
	for (;;) {
		p += strlen(delim);
		if (strncmp(p, "--", 2) == 0)
			break;		/* the close delimiter */
		cr_assert(strncmp(p, "\r\n", 2) == 0);
		p += 2;
		next = strstr(p, tu_fmt("\r\n%s", delim));
		cr_assert_not_null(next, "part %zu does not end", n + 1);
		cr_assert(n < max);
		{
			const char *hdr_end = strstr(p, "\r\n\r\n");

			cr_assert(hdr_end != NULL && hdr_end <= next);
			parts[n].header = header_of(p, &parts[n].body);
			parts[n].len = (size_t)(next - parts[n].body);
		}
		n++;
		p = next + 2;
	}
	return n;
}

/* The decoded content of a part (base64, 7bit or 8bit). */
static const unsigned char *
part_content(const struct part *pt, size_t *len)
{
	const char *cte = field(pt->header, "Content-Transfer-Encoding");

	if (cte != NULL && strcasecmp(cte, "base64") == 0)
		return unbase64(pt->body, pt->len, len);
	cr_assert(cte == NULL || strcasecmp(cte, "7bit") == 0 ||
	    strcasecmp(cte, "8bit") == 0, "unexpected encoding %s", cte);
	*len = pt->len;
	return (const unsigned char *)pt->body;
}

/* LF line ends as CRLF (how a 7bit body carries text). */
static const char *
crlf(const char *s)
{
	char *out = xmalloc(2 * strlen(s) + 1), *o = out;

	for (; *s != '\0'; s++) {
		if (*s == '\n')
			*o++ = '\r';
		*o++ = *s;
	}
	*o = '\0';
	return tu_keep(out);
}

/* 2. A message built from options, with a binary and a text attachment. */
Test(engine, built_message_with_attachments)
{
	static const char subject[] = "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x93 "
	    "Bericht \xe2\x84\x96" "5 \xe2\x9c\x93 aus K\xc3\xb6ln";
	static const char body[] = "Hallo,\n\nanbei der Bericht f\xc3\xbcr "
	    "Mai.\n.\n..dots stay\nGru\xc3\x9f\n";
	static const char text[] = "line one\nline two\n";
	unsigned char bin[1024];
	const char *binpath = path_in_dir("all-bytes.bin");
	const char *txtpath = path_in_dir("notes.txt");
	const char *hdr, *msgbody, *ct, *v;
	const unsigned char *content;
	struct part parts[8];
	struct tu_run r;
	size_t n, len;
	char *eml;
	yajl_val j;

	for (size_t i = 0; i < sizeof bin; i++)
		bin[i] = (unsigned char)(i % 256);
	tu_write_file(binpath, (const char *)bin, sizeof bin);
	tu_write_file(txtpath, text, sizeof text - 1);
	plain_profile();

	r = eng(body, "send", "--from", "sender@example.com", "--to",
	    "one@example.net", "--to", "two@example.org", "--subject", subject,
	    "--attach", binpath, "--attach", txtpath, NULL);
	expect_exit(&r, 0);
	tu_run_free(&r);

	eml = mail_file(1, "eml", NULL);
	cr_assert_not_null(eml, "nothing arrived");
	j = mail_json(1);
	assert_jstr(j, "mail_from", "sender@example.com");
	cr_assert_eq(jlen(j, "rcpt_tos"), 2);
	cr_assert_str_eq(jitem(j, "rcpt_tos", 0), "one@example.net");
	cr_assert_str_eq(jitem(j, "rcpt_tos", 1), "two@example.org");
	yajl_tree_free(j);

	hdr = header_of(eml, &msgbody);
	cr_assert_not_null(field(hdr, "Date"), "no Date:\n%s", hdr);
	v = field(hdr, "Message-ID");
	cr_assert(v != NULL && v[0] == '<' && strchr(v, '@') &&
	    v[strlen(v) - 1] == '>', "Message-ID: %s", v ? v : "(none)");
	v = field(hdr, "From");
	cr_assert(v && strstr(v, "sender@example.com"), "From: %s", v);
	v = field(hdr, "To");
	cr_assert(v && strstr(v, "one@example.net") &&
	    strstr(v, "two@example.org"), "To: %s", v);
	v = field(hdr, "Subject");
	cr_assert_not_null(v, "no Subject");
	for (const char *c = v; *c; c++)
		cr_assert((unsigned char)*c < 0x80, "raw 8-bit Subject: %s", v);
	cr_assert(strstr(v, "=?") != NULL, "Subject not encoded: %s", v);
	cr_assert_str_eq(decode_words(v), subject, "Subject: %s", v);
	ct = field(hdr, "Content-Type");
	cr_assert(ct && strncasecmp(ct, "multipart/mixed", 15) == 0,
	    "Content-Type: %s", ct);

	n = split_parts(msgbody, param(ct, "boundary"), parts, 8);
	cr_assert_eq(n, 3, "%zu parts", n);

	/* The body: what came on stdin. */
	ct = field(parts[0].header, "Content-Type");
	cr_assert(ct && strncasecmp(ct, "text/plain", 10) == 0, "%s", ct);
	content = part_content(&parts[0], &len);
	v = field(parts[0].header, "Content-Transfer-Encoding");
	if (v != NULL && strcasecmp(v, "base64") == 0) {
		cr_assert_eq(len, sizeof body - 1);
		cr_assert(memcmp(content, body, len) == 0);
	} else {
		const char *want = crlf(body);

		cr_assert(len == strlen(want) &&
		    memcmp(content, want, len) == 0, "body: %.*s", (int)len,
		    content);
	}

	/* The attachments, byte for byte. */
	v = field(parts[1].header, "Content-Disposition");
	cr_assert(v && strncasecmp(v, "attachment", 10) == 0, "%s", v);
	cr_assert_str_eq(param(v, "filename"), "all-bytes.bin");
	content = part_content(&parts[1], &len);
	cr_assert_eq(len, sizeof bin);
	cr_assert(memcmp(content, bin, len) == 0, "binary attachment changed");
	v = field(parts[2].header, "Content-Disposition");
	cr_assert(v && strncasecmp(v, "attachment", 10) == 0, "%s", v);
	cr_assert_str_eq(param(v, "filename"), "notes.txt");
	content = part_content(&parts[2], &len);
	cr_assert_eq(len, sizeof text - 1);
	cr_assert(memcmp(content, text, len) == 0, "text attachment changed");
}

/* 11. Gateway parameters in the subject. */
Test(engine, subject_params)
{
	const char *att = path_in_dir("report.pdf"), *hdr, *body, *v;
	struct tu_run r;

	tu_write_file(att, "%PDF-1.4\n", 9);
	plain_profile();
	admin("settings", "subject_params=true", "subject_delimiter=//XFB",
	    NULL);
	r = eng("hello\n", "send", "--subject", "Monthly report", "--attach",
	    att, NULL);
	expect_exit(&r, 0);
	tu_run_free(&r);
	hdr = header_of(mail_file(1, "eml", NULL), &body);
	v = field(hdr, "Subject");
	cr_assert_not_null(v);
	v = decode_words(v);
	cr_assert(strstr(v, "Monthly report") != NULL, "Subject: %s", v);
	cr_assert(strstr(v, "//XFB PROFILE=p") != NULL, "Subject: %s", v);
	cr_assert(strstr(v, "FILE=report.pdf") != NULL, "Subject: %s", v);

	/* And off again: the subject as given. */
	admin("settings", "subject_params=false", NULL);
	r = eng("hello\n", "send", "--subject", "Monthly report", NULL);
	expect_exit(&r, 0);
	tu_run_free(&r);
	hdr = header_of(mail_file(2, "eml", NULL), &body);
	cr_assert_str_eq(decode_words(field(hdr, "Subject")), "Monthly report");
}

/* 3. Certificates. */

/*
 * A server presenting certname in mode (explicit or implicit), a profile
 * with the test CA and AUTH PLAIN: the engine must refuse it (69) naming
 * why, having sent no AUTH and no MAIL.
 */
static void
bad_cert(const char *tls, const char *certname, const char *why)
{
	const char *password = "cert-test-P4ss";
	struct tu_run r;
	int port;

	port = serve("smtpd.py", "--mode", tls_mode_of(tls), "--cert",
	    cert(tu_fmt("%s.pem", certname)), "--key",
	    cert(tu_fmt("%s-key.pem", certname)), "--auth", "--user", USER,
	    "--password", password, NULL);
	profile("c", password, "host=localhost", tu_fmt("port=%d", port),
	    tu_fmt("tls=%s", tls), tu_fmt("ca_file=%s", cert("ca.pem")),
	    "auth=plain", "username=" USER, "from=gw@example.com",
	    "to=reader@example.net", "timeout=10", NULL);
	r = eng("body\n", "send", "--profile", "c", NULL);
	expect_exit(&r, EXIT_UNAVAIL);
	expect_err(&r, "certificate");
	expect_err(&r, why);
	expect_err(&r, "status=failed");
	expect_no_secret(&r, password);
	tu_run_free(&r);
	if (strcmp(tls, "explicit") == 0) {
		log_only((const char *const[]){ "EHLO", "STARTTLS", NULL });
		cr_assert_eq(log_count("STARTTLS"), 1);
	} else
		cr_assert_str_eq(server_log(), "", "implicit TLS: nothing may "
		    "be read as a command");
	cr_assert_null(mail_file(1, "eml", NULL));
}

Test(engine, cert_expired_explicit)
{
	bad_cert("explicit", "expired", "expired");
}

Test(engine, cert_expired_implicit)
{
	bad_cert("implicit", "expired", "expired");
}

Test(engine, cert_notyet_explicit)
{
	bad_cert("explicit", "notyet", "not activated");
}

Test(engine, cert_notyet_implicit)
{
	bad_cert("implicit", "notyet", "not activated");
}

Test(engine, cert_wronghost_explicit)
{
	bad_cert("explicit", "wronghost", "localhost not in the certificate");
}

Test(engine, cert_wronghost_implicit)
{
	bad_cert("implicit", "wronghost", "localhost not in the certificate");
}

Test(engine, cert_selfsigned_explicit)
{
	bad_cert("explicit", "selfsigned", "self-signed");
}

Test(engine, cert_selfsigned_implicit)
{
	bad_cert("implicit", "selfsigned", "self-signed");
}

Test(engine, cert_untrusted_explicit)
{
	bad_cert("explicit", "untrusted", "not trusted");
}

Test(engine, cert_untrusted_implicit)
{
	bad_cert("implicit", "untrusted", "not trusted");
}

/* "sha256:<hex>" of NAME.pem, as certtool computes it. */
static const char *
certtool_pin(const char *name)
{
	char *cmd, line[256];
	FILE *f;

	tu_need_tool("certtool");
	cmd = xasprintf("certtool --fingerprint --hash sha256 --infile '%s'",
	    cert(tu_fmt("%s.pem", name)));
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(line, sizeof line, f), "%s: no output", cmd);
	pclose(f);
	free(cmd);
	line[strcspn(line, "\r\n")] = '\0';
	cr_assert_eq(strlen(line), 64, "certtool said '%s'", line);
	return tu_fmt("sha256:%s", line);
}

/* An implicit-TLS server with certname and profile "c" with the keys given. */
static void
tls_server_profile(const char *certname, const char *k1, const char *k2)
{
	int port = serve("smtpd.py", "--mode", "implicit", "--cert",
	    cert(tu_fmt("%s.pem", certname)), "--key",
	    cert(tu_fmt("%s-key.pem", certname)), NULL);

	profile("c", NULL, "host=localhost", tu_fmt("port=%d", port),
	    "tls=implicit", "from=gw@example.com", "to=reader@example.net",
	    "timeout=10", k1, k2 ? k2 : "retries=0", NULL);
}

Test(engine, cert_verify_false_sends_anyway)
{
	struct tu_run r;
	yajl_val j;

	tls_server_profile("expired", "verify=false", NULL);
	r = eng("body\n", "send", "--profile", "c", NULL);
	expect_exit(&r, 0);
	expect_err(&r, "status=sent");
	tu_run_free(&r);
	j = mail_json(1);
	cr_assert(jtrue(j, "tls"));
	yajl_tree_free(j);
}

Test(engine, cert_selfsigned_pinned_is_sent)
{
	struct tu_run r;

	tls_server_profile("selfsigned",
	    tu_fmt("fingerprint=%s", certtool_pin("selfsigned")), NULL);
	r = eng("body\n", "send", "--profile", "c", NULL);
	expect_exit(&r, 0);
	tu_run_free(&r);
	cr_assert_not_null(mail_file(1, "eml", NULL));
}

Test(engine, cert_pin_is_upper_case_with_colons_too)
{
	const char *pin = certtool_pin("selfsigned");
	char *spelled = xmalloc(200), *o = spelled;
	struct tu_run r;

	/* As some tools print it: AB:CD:... */
	o += sprintf(o, "sha256:");
	for (const char *h = pin + 7; *h; h += 2)
		o += sprintf(o, "%s%c%c", h == pin + 7 ? "" : ":",
		    toupper((unsigned char)h[0]), toupper((unsigned char)h[1]));
	tu_keep(spelled);
	tls_server_profile("selfsigned", tu_fmt("fingerprint=%s", spelled), NULL);
	r = eng("body\n", "send", "--profile", "c", NULL);
	expect_exit(&r, 0);
	tu_run_free(&r);
	cr_assert_not_null(mail_file(1, "eml", NULL));
}

Test(engine, cert_wrong_pin_is_refused_even_without_verify)
{
	struct tu_run r;

	/* The pin of another certificate: the good one, signed by the CA. */
	tls_server_profile("selfsigned",
	    tu_fmt("fingerprint=%s", certtool_pin("good")), "verify=false");
	r = eng("body\n", "send", "--profile", "c", NULL);
	expect_exit(&r, EXIT_UNAVAIL);
	expect_err(&r, "fingerprint");
	tu_run_free(&r);
	cr_assert_null(mail_file(1, "eml", NULL));
	cr_assert_str_eq(server_log(), "");
}

/* 4. Scripted misbehaving servers. */

/*
 * badsmtp.py --scenario NAME (with the good certificate if with_cert) and
 * profile "b" for it: the test CA, from, to, timeout=10 unless keys (NULL-
 * terminated) set another, then keys.
 */
static void
bad_server(const char *scenario, bool with_cert, bool implicit,
    const char *password, const char *const *keys)
{
	const char *args[12] = { "--scenario", scenario };
	const char *pk[MAX_ARGS];
	bool timeout = false;
	size_t n = 2;
	int port;

	if (with_cert) {
		args[n++] = "--cert";
		args[n++] = cert("good.pem");
		args[n++] = "--key";
		args[n++] = cert("good-key.pem");
	}
	if (implicit)
		args[n++] = "--implicit";
	args[n] = NULL;
	port = serve_argv("badsmtp.py", args);
	n = 0;
	pk[n++] = "host=localhost";
	pk[n++] = tu_fmt("port=%d", port);
	pk[n++] = tu_fmt("ca_file=%s", cert("ca.pem"));
	pk[n++] = "from=gw@example.com";
	pk[n++] = "to=reader@example.net";
	for (size_t i = 0; keys[i] != NULL; i++) {
		cr_assert(n < MAX_ARGS - 2);
		timeout = timeout || strncmp(keys[i], "timeout=", 8) == 0;
		pk[n++] = keys[i];
	}
	if (!timeout)
		pk[n++] = "timeout=10";
	pk[n] = NULL;
	profile_argv("b", password, pk);
}

static struct tu_run
send_b(void)
{
	return eng("body\n", "send", "--profile", "b", NULL);
}

Test(engine, no_starttls_mandatory_sends_nothing)
{
	struct tu_run r;

	bad_server("no-starttls", true, false, "P4ssw0rd-nst",
	    (const char *const[]){ "tls=explicit", "starttls=mandatory",
	    "auth=plain", "username=" USER, NULL });
	r = send_b();
	expect_exit(&r, EXIT_UNAVAIL);
	expect_err(&r, "STARTTLS");
	expect_no_secret(&r, "P4ssw0rd-nst");
	tu_run_free(&r);
	cr_assert_eq(log_count("EHLO"), 1);
	cr_assert_eq(log_count("AUTH"), 0, "%s", server_log());
	cr_assert_eq(log_count("MAIL"), 0, "%s", server_log());
	cr_assert_null(strstr(server_log(), "P4ssw0rd"));
}

Test(engine, no_starttls_optional_sends_in_clear)
{
	struct tu_run r;

	bad_server("no-starttls", true, false, NULL,
	    (const char *const[]){ "tls=explicit", "starttls=optional",
	    "auth=none", NULL });
	r = send_b();
	expect_exit(&r, 0);
	expect_err(&r, "tls=none");
	expect_err(&r, "status=sent");
	tu_run_free(&r);
	cr_assert_eq(log_count("STARTTLS"), 0);
	cr_assert_eq(log_count("MAIL"), 1);
	cr_assert_eq(log_count("RCPT"), 1);
	cr_assert_eq(log_count("DATA"), 1);
}

Test(engine, no_starttls_optional_never_sends_password_in_clear)
{
	struct tu_run r;

	bad_server("no-starttls", true, false, "P4ssw0rd-opt",
	    (const char *const[]){ "tls=explicit", "starttls=optional",
	    "auth=plain", "username=" USER, NULL });
	r = send_b();
	expect_exit(&r, EXIT_CONFIG);
	expect_err(&r, "allow_plain_auth_without_tls");
	expect_no_secret(&r, "P4ssw0rd-opt");
	tu_run_free(&r);
	cr_assert_eq(log_count("AUTH"), 0, "%s", server_log());
	cr_assert_eq(log_count("MAIL"), 0, "%s", server_log());
	cr_assert_null(strstr(server_log(), "P4ssw0rd"));
}

/* STARTTLS answered with something else than 220. */
static void
starttls_refused(const char *scenario, int want, const char *what)
{
	struct tu_run r;

	bad_server(scenario, false, false, "P4ssw0rd-st",
	    (const char *const[]){ "tls=explicit", "starttls=mandatory",
	    "auth=plain", "username=" USER, NULL });
	r = send_b();
	expect_exit(&r, want);
	expect_err(&r, what);
	expect_no_secret(&r, "P4ssw0rd-st");
	tu_run_free(&r);
	cr_assert_eq(log_count("STARTTLS"), 1);
	cr_assert_eq(log_count("AUTH"), 0, "%s", server_log());
	cr_assert_eq(log_count("MAIL"), 0, "%s", server_log());
	/* After STARTTLS, at most a polite QUIT. */
	log_only((const char *const[]){ "EHLO", "STARTTLS", "QUIT", NULL });
}

Test(engine, starttls_454)
{
	starttls_refused("starttls-454", EXIT_UNAVAIL, "TLS not available");
}

Test(engine, starttls_502)
{
	starttls_refused("starttls-502", EXIT_UNAVAIL,
	    "STARTTLS not implemented");
}

Test(engine, starttls_354)
{
	starttls_refused("starttls-354", EXIT_PROTOCOL, "354");
}

Test(engine, starttls_injection_aborts)
{
	struct tu_run r;
	const char *log, *after;

	bad_server("starttls-inject", true, false, "P4ssw0rd-inj",
	    (const char *const[]){ "tls=explicit", "auth=plain",
	    "username=" USER, NULL });
	r = send_b();
	expect_exit(&r, EXIT_PROTOCOL);
	expect_err(&r, "injection");
	expect_no_secret(&r, "P4ssw0rd-inj");
	tu_run_free(&r);
	log = server_log();
	after = strstr(log, "STARTTLS\n");
	cr_assert_not_null(after, "%s", log);
	cr_assert_str_eq(after + strlen("STARTTLS\n"), "",
	    "sent after STARTTLS:\n%s", log);
}

Test(engine, greeting_421)
{
	struct tu_run r;

	bad_server("greeting-421", false, false, NULL,
	    (const char *const[]){ "tls=none", NULL });
	r = send_b();
	expect_exit(&r, EXIT_TEMPFAIL);
	expect_err(&r, "service not available");
	tu_run_free(&r);
	cr_assert_eq(log_count("EHLO"), 0);
	cr_assert_eq(log_count("MAIL"), 0);
}

Test(engine, long_reply_line)
{
	struct tu_run r;

	bad_server("long-line", false, false, NULL,
	    (const char *const[]){ "tls=none", NULL });
	r = send_b();
	expect_exit(&r, EXIT_PROTOCOL);
	expect_err(&r, "status=failed");
	expect_err(&r, "longer than");
	tu_run_free(&r);
	cr_assert_eq(log_count("MAIL"), 0);
}

Test(engine, data_stall_times_out)
{
	struct tu_run r;
	time_t t0;

	bad_server("data-stall", false, false, NULL,
	    (const char *const[]){ "tls=none", "timeout=2", NULL });
	t0 = time(NULL);
	r = send_b();
	expect_exit(&r, EXIT_TEMPFAIL);
	expect_err(&r, "2 s");
	tu_run_free(&r);
	cr_assert(time(NULL) - t0 < 30, "took %lld s with timeout=2",
	    (long long)(time(NULL) - t0));
	cr_assert_eq(log_count("DATA"), 1);
}

Test(engine, close_mid_reply)
{
	struct tu_run r;

	bad_server("close-mid-reply", false, false, NULL,
	    (const char *const[]){ "tls=none", NULL });
	r = send_b();
	expect_exit(&r, EXIT_TEMPFAIL);
	expect_err(&r, "closed the connection");
	tu_run_free(&r);
}

Test(engine, auth_535)
{
	struct tu_run r;

	bad_server("auth-535", false, false, "Wr0ng-P4ss",
	    (const char *const[]){ "tls=none", "auth=plain",
	    "username=" USER, "allow_plain_auth_without_tls=true", NULL });
	r = send_b();
	expect_exit(&r, EXIT_NOPERM);
	/* The code and status, never the text of a reply to AUTH. */
	expect_err(&r, "535 5.7.8 (reply text not shown)");
	expect_no_secret(&r, "Wr0ng-P4ss");
	tu_run_free(&r);
	cr_assert_eq(log_count("MAIL"), 0);
}

Test(engine, auth_535_login)
{
	struct tu_run r;

	bad_server("auth-535", false, false, "Wr0ng-L0gin",
	    (const char *const[]){ "tls=none", "auth=login",
	    "username=" USER, "allow_plain_auth_without_tls=true", NULL });
	r = send_b();
	expect_exit(&r, EXIT_NOPERM);
	/* The code and status, never the text of a reply to AUTH. */
	expect_err(&r, "535 5.7.8 (reply text not shown)");
	expect_no_secret(&r, "Wr0ng-L0gin");
	tu_run_free(&r);
	cr_assert_eq(log_count("MAIL"), 0);
}

Test(engine, rcpt_451)
{
	struct tu_run r;

	bad_server("rcpt-451", false, false, NULL,
	    (const char *const[]){ "tls=none", NULL });
	r = send_b();
	expect_exit(&r, EXIT_TEMPFAIL);
	expect_err(&r, "try again later");
	tu_run_free(&r);
}

Test(engine, mail_550)
{
	struct tu_run r;

	bad_server("mail-550", false, false, NULL,
	    (const char *const[]){ "tls=none", NULL });
	r = send_b();
	expect_exit(&r, EXIT_DATAERR);
	expect_err(&r, "sender rejected");
	tu_run_free(&r);
}

Test(engine, starttls_454_optional_goes_on_in_clear)
{
	struct tu_run r;

	bad_server("starttls-454", false, false, NULL,
	    (const char *const[]){ "tls=explicit", "starttls=optional",
	    "auth=none", NULL });
	r = send_b();
	expect_exit(&r, 0);
	expect_err(&r, "tls=none");
	tu_run_free(&r);
	cr_assert_eq(log_count("STARTTLS"), 1);
	cr_assert_eq(log_count("MAIL"), 1);
	cr_assert_eq(log_count("DATA"), 1);
}

/* badsmtp offers PIPELINING (aiosmtpd does not): the pipelined path. */
Test(engine, recipients_150_pipelined)
{
	const char *args[2 * 150 + 8] = { "send", "--profile", "b" };
	size_t n = 3;
	struct tu_run r;

	bad_server("normal", false, false, NULL,
	    (const char *const[]){ "tls=none", NULL });
	for (int i = 0; i < 150; i++) {
		args[n++] = "--to";
		args[n++] = tu_fmt("r%03d@example.net", i);
	}
	args[n] = NULL;
	run_engine(&r, "to many\n", NULL, args);
	expect_exit(&r, 0);
	tu_run_free(&r);
	cr_assert_eq(log_count("MAIL"), 2, "%s", server_log());
	cr_assert_eq(log_count("RCPT"), 150);
	cr_assert_eq(log_count("DATA"), 2);
	cr_assert_eq(log_count("RSET"), 1);
	cr_assert_not_null(strstr(server_log(),
	    "RCPT TO:<r099@example.net>\nDATA\nRSET\nMAIL FROM:<gw@example.com>"
	    "\nRCPT TO:<r100@example.net>\n"), "%s", server_log());
}

Test(engine, implicit_tls_against_a_plain_port)
{
	int port = serve("smtpd.py", NULL);
	struct tu_run r;

	profile("p", NULL, "host=127.0.0.1", tu_fmt("port=%d", port),
	    "tls=implicit", "from=gw@example.com", "to=reader@example.net",
	    "timeout=10", NULL);
	r = eng("body\n", "send", "--profile", "p", NULL);
	expect_exit(&r, EXIT_UNAVAIL);
	expect_err(&r, "plain-text");
	tu_run_free(&r);
	cr_assert_eq(log_count("MAIL"), 0);
	cr_assert_null(mail_file(1, "eml", NULL));
}

Test(engine, tls13_floor)
{
	struct tu_run r;
	yajl_val j;

	tls_server_profile("good", tu_fmt("ca_file=%s", cert("ca.pem")),
	    "tls_min=1.3");
	r = eng("body\n", "send", "--profile", "c", NULL);
	expect_exit(&r, 0);
	expect_err(&r, "tls=TLS1.3");
	tu_run_free(&r);
	j = mail_json(1);
	assert_jstr(j, "tls_version", "TLSv1.3");
	yajl_tree_free(j);
}

Test(engine, tls11_only_refused)
{
	struct tu_run r;

	bad_server("tls11-only", true, true, NULL,
	    (const char *const[]){ "tls=implicit", NULL });
	r = send_b();
	expect_exit(&r, EXIT_UNAVAIL);
	expect_err(&r, "tls_min");
	tu_run_free(&r);
	cr_assert_eq(log_count("EHLO"), 0);
	cr_assert_eq(log_count("MAIL"), 0);
}

/* 5. alt_hosts and IPv6. */

Test(engine, alt_host_when_main_is_down)
{
	int dead = tu_refused_port(), port = serve("smtpd.py", NULL);
	struct tu_run r;

	profile("p", NULL, "host=127.0.0.1", tu_fmt("port=%d", dead), "tls=none",
	    tu_fmt("alt_hosts=127.0.0.1:%d", port), "from=gw@example.com",
	    "to=reader@example.net", "timeout=10", NULL);
	r = eng("body\n", "send", "--profile", "p", NULL);
	expect_exit(&r, 0);
	expect_err(&r, tu_fmt("server=127.0.0.1:%d", port));
	tu_run_free(&r);
	cr_assert_not_null(mail_file(1, "eml", NULL));
}

/* The log line names the server the attempt failed at. */
Test(engine, alt_host_failure_is_logged_with_its_server)
{
	int dead = tu_refused_port(), port;
	struct tu_run r;

	port = serve("smtpd.py", "--mode", "implicit", "--cert",
	    cert("expired.pem"), "--key", cert("expired-key.pem"), NULL);
	profile("p", NULL, "host=127.0.0.1", tu_fmt("port=%d", dead),
	    "tls=implicit", tu_fmt("ca_file=%s", cert("ca.pem")),
	    tu_fmt("alt_hosts=127.0.0.1:%d", port), "from=gw@example.com",
	    "to=reader@example.net", "timeout=10", NULL);
	r = eng("body\n", "send", "--profile", "p", NULL);
	expect_exit(&r, EXIT_UNAVAIL);
	expect_err(&r, "expired");
	expect_err(&r, tu_fmt("server=127.0.0.1:%d ", port));
	tu_run_free(&r);
}

Test(engine, every_host_down)
{
	int dead = tu_refused_port(), dead2 = tu_refused_port();
	struct tu_run r;

	profile("p", NULL, "host=127.0.0.1", tu_fmt("port=%d", dead), "tls=none",
	    tu_fmt("alt_hosts=127.0.0.1:%d", dead2), "from=gw@example.com",
	    "to=reader@example.net", "timeout=10", NULL);
	r = eng("body\n", "send", "--profile", "p", NULL);
	expect_exit(&r, EXIT_UNAVAIL);
	expect_err(&r, tu_fmt("%d", dead));
	expect_err(&r, tu_fmt("%d", dead2));
	tu_run_free(&r);
}

static bool
have_ipv6_loopback(void)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6,
	    .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	bool ok = fd != -1 &&
	    bind(fd, (struct sockaddr *)&sin6, sizeof sin6) == 0;

	if (fd != -1)
		close(fd);
	return ok;
}

Test(engine, ipv6_loopback_with_tls)
{
	struct tu_run r;
	yajl_val j;
	int port;

	if (!have_ipv6_loopback())
		cr_skip_test("no IPv6 loopback on this machine");
	port = serve("smtpd.py", "--host", "::1", "--mode", "starttls",
	    "--cert", cert("good.pem"), "--key", cert("good-key.pem"), NULL);
	/* The certificate names ::1, so verification by IP address passes. */
	profile("six", NULL, "host=::1", tu_fmt("port=%d", port), "tls=explicit",
	    tu_fmt("ca_file=%s", cert("ca.pem")), "from=gw@example.com",
	    "to=reader@example.net", "timeout=10", NULL);
	r = eng("body\n", "send", "--profile", "six", NULL);
	expect_exit(&r, 0);
	expect_err(&r, tu_fmt("server=[::1]:%d", port));
	tu_run_free(&r);
	j = mail_json(1);
	cr_assert(jtrue(j, "tls"));
	yajl_tree_free(j);
}

/* 6. Many recipients: at most 100 per transaction. */
Test(engine, recipients_150_in_two_transactions)
{
	const char *args[2 * 150 + 8] = { "send", "--profile", "p" };
	size_t n = 3;
	struct tu_run r;
	yajl_val j;

	plain_profile();
	for (int i = 0; i < 150; i++) {
		args[n++] = "--to";
		args[n++] = tu_fmt("r%03d@example.net", i);
	}
	args[n] = NULL;
	run_engine(&r, "to many\n", NULL, args);
	expect_exit(&r, 0);
	tu_run_free(&r);
	cr_assert_eq(log_count("MAIL"), 2);
	cr_assert_eq(log_count("RCPT"), 150);
	j = mail_json(1);
	cr_assert_eq(jlen(j, "rcpt_tos"), 100);
	cr_assert_str_eq(jitem(j, "rcpt_tos", 0), "r000@example.net");
	cr_assert_str_eq(jitem(j, "rcpt_tos", 99), "r099@example.net");
	yajl_tree_free(j);
	j = mail_json(2);
	cr_assert_eq(jlen(j, "rcpt_tos"), 50);
	cr_assert_str_eq(jitem(j, "rcpt_tos", 0), "r100@example.net");
	cr_assert_str_eq(jitem(j, "rcpt_tos", 49), "r149@example.net");
	yajl_tree_free(j);
	cr_assert_null(mail_file(3, "eml", NULL));
	/* The same message both times. */
	cr_assert_str_eq(mail_file(1, "eml", NULL), mail_file(2, "eml", NULL));
}

Test(engine, every_recipient_refused_is_temporary)
{
	int port = serve("smtpd.py", "--rcpt-reply", "450 4.2.1 mailbox busy",
	    NULL);
	struct tu_run r;

	profile("p", NULL, "host=127.0.0.1", tu_fmt("port=%d", port), "tls=none",
	    "from=gw@example.com", "to=reader@example.net", "timeout=10",
	    NULL);
	r = eng("body\n", "send", "--profile", "p", NULL);
	expect_exit(&r, EXIT_TEMPFAIL);
	expect_err(&r, "mailbox busy");
	tu_run_free(&r);
	cr_assert_null(mail_file(1, "eml", NULL));
}

Test(engine, data_refused_permanently)
{
	int port = serve("smtpd.py", "--data-reply",
	    "554 5.6.0 content rejected", NULL);
	struct tu_run r;

	profile("p", NULL, "host=127.0.0.1", tu_fmt("port=%d", port), "tls=none",
	    "from=gw@example.com", "to=reader@example.net", "timeout=10",
	    NULL);
	r = eng("body\n", "send", "--profile", "p", NULL);
	expect_exit(&r, EXIT_DATAERR);
	expect_err(&r, "content rejected");
	tu_run_free(&r);
}

/* 8. Buffered writes. */

/*
 * How many traced syscalls wrote to the socket connect() opened to port
 * (not to a PostgreSQL store's, say).
 */
static int
socket_writes(const char *trace, int port)
{
	char *text = tu_read_file(trace, NULL), *line, *save = NULL;
	const char *to_port = tu_fmt("htons(%d)", port);
	int fds[64], nfd = 0, count = 0;

	cr_assert_not_null(text, "no strace output");
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		const char *call = strchr(line, ' ');
		int fd;

		if (call == NULL)
			continue;
		call += strspn(call, " ");	/* the PID is padded */
		/* Non-blocking: EINPROGRESS is the usual answer. */
		if (sscanf(call, "connect(%d,", &fd) == 1 &&
		    strstr(call, to_port) != NULL &&
		    (strstr(call, "= -1") == NULL ||
		    strstr(call, "EINPROGRESS") != NULL)) {
			if (nfd < 64)
				fds[nfd++] = fd;
			continue;
		}
		if (sscanf(call, "write(%d,", &fd) == 1 ||
		    sscanf(call, "writev(%d,", &fd) == 1 ||
		    sscanf(call, "sendto(%d,", &fd) == 1 ||
		    sscanf(call, "sendmsg(%d,", &fd) == 1) {
			for (int i = 0; i < nfd; i++)
				count += fds[i] == fd;
		}
	}
	free(text);
	cr_assert(nfd > 0, "no connect() in the trace:\n%s",
	    tu_keep(tu_read_file(trace, NULL)));
	return count;
}

static void
buffered(const char *tls)
{
	const char *file = path_in_dir("big.eml"), *trace = path_in_dir("st");
	size_t lines = 30000, len;
	char *msg, *o, *got;
	struct tu_run r;
	int port, writes;

	tu_need_tool("strace");
	/* LeakSanitizer cannot run under ptrace: no leak check here. */
	{
		const char *asan = getenv("ASAN_OPTIONS");

		setenv("ASAN_OPTIONS", tu_fmt("%s%sdetect_leaks=0",
		    asan ? asan : "", asan && *asan ? ":" : ""), 1);
	}
	msg = (char *)tu_keep(xmalloc(lines * 72 + 256));
	o = msg + sprintf(msg, "From: gw@example.com\r\n"
	    "To: reader@example.net\r\nSubject: big\r\n\r\n");
	for (size_t i = 0; i < lines; i++)
		o += sprintf(o, "%s%06zu %s\r\n", i % 10 == 0 ? "." : "", i,
		    "abcdefghijklmnopqrstuvwxyz0123456789"
		    "abcdefghijklmnopqrstuv");
	tu_write_file(file, msg, (size_t)(o - msg));

	if (strcmp(tls, "explicit") == 0) {
		port = serve("smtpd.py", "--mode", "starttls", "--cert",
		    cert("good.pem"), "--key", cert("good-key.pem"), NULL);
		profile("big", NULL, "host=127.0.0.1", tu_fmt("port=%d", port),
		    "tls=explicit", tu_fmt("ca_file=%s", cert("ca.pem")),
		    "from=gw@example.com", "to=reader@example.net",
		    "timeout=30", NULL);
	} else {
		port = serve("smtpd.py", NULL);
		profile("big", NULL, "host=127.0.0.1", tu_fmt("port=%d", port),
		    "tls=none", "from=gw@example.com",
		    "to=reader@example.net", "timeout=30", NULL);
	}
	run_engine(&r, NULL, (const char *const[]){ "strace", "-f", "-o",
	    trace, "-e", "trace=connect,write,writev,sendto,sendmsg", NULL },
	    (const char *const[]){ "send", "--profile", "big", "--message",
	    file, NULL });
	expect_exit(&r, 0);
	tu_run_free(&r);

	got = mail_file(1, "eml", &len);
	cr_assert_not_null(got);
	/* Date and Message-ID are added in front; nothing else changes. */
	cr_assert(len > (size_t)(o - msg) &&
	    memcmp(got + len - (size_t)(o - msg), msg, (size_t)(o - msg)) == 0,
	    "the 2 MB message arrived changed");

	writes = socket_writes(trace, port);
	cr_log_info("%s: %d socket writes for %zu lines", tls, writes, lines);
	/* 2 MB in 64 KiB writes is 32; TLS splits them in 16 KiB records. */
	cr_assert(writes < (strcmp(tls, "none") == 0 ? 100 : 200),
	    "%d writes to the socket for a message of %zu lines", writes,
	    lines);
}

Test(engine, buffered_writes_plain)
{
	buffered("none");
}

Test(engine, buffered_writes_explicit_tls)
{
	buffered("explicit");
}

/*
 * A scripted server written here for two faults no other test server has:
 * MINI_CLOSE_AT_DATA answers 354 to DATA and closes the connection (a
 * crash, a restart, a proxy timing out), leaving the client writing the
 * message into a closed socket; MINI_REFUSE_ONE refuses the recipient
 * bad@example.net with 550 and accepts the rest.  It serves one
 * connection and logs each command line to logpath, then "." when the
 * data has ended.  Returns the port.
 */
enum mini_mode { MINI_CLOSE_AT_DATA, MINI_REFUSE_ONE };

static void
mini_say(int fd, const char *reply)
{
	if (write(fd, reply, strlen(reply)) != (ssize_t)strlen(reply))
		_exit(1);
}

static void
mini_serve(int fd, enum mini_mode mode, FILE *log)
{
	char buf[65536];
	size_t have = 0;
	bool data = false;

	mini_say(fd, "220 mini ESMTP\r\n");
	for (;;) {
		ssize_t n = read(fd, buf + have, sizeof buf - have - 1);
		char *eol;

		if (n <= 0)
			return;
		have += (size_t)n;
		buf[have] = '\0';
		while ((eol = strstr(buf, "\r\n")) != NULL) {
			*eol = '\0';
			if (data) {
				if (strcmp(buf, ".") == 0) {
					data = false;
					fputs(".\n", log);
					mini_say(fd, "250 2.0.0 queued\r\n");
				}
			} else {
				fprintf(log, "%s\n", buf);
				if (strncasecmp(buf, "EHLO", 4) == 0)
					mini_say(fd, "250 mini\r\n");
				else if (strncasecmp(buf, "DATA", 4) == 0) {
					mini_say(fd, "354 go on\r\n");
					if (mode == MINI_CLOSE_AT_DATA) {
						fflush(log);
						close(fd);	/* a FIN */
						return;
					}
					data = true;
				} else if (strcasecmp(buf,
				    "RCPT TO:<bad@example.net>") == 0)
					mini_say(fd,
					    "550 5.1.1 no such user\r\n");
				else if (strncasecmp(buf, "QUIT", 4) == 0) {
					mini_say(fd, "221 bye\r\n");
					return;
				} else
					mini_say(fd, "250 ok\r\n");
			}
			fflush(log);
			have -= (size_t)(eol + 2 - buf);
			memmove(buf, eol + 2, have + 1);
		}
		if (have >= sizeof buf - 1)
			have = 0;	/* a data line too long: drop it */
	}
}

static int
mini_server(enum mini_mode mode)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof sin;
	int ls, port;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(ls != -1);
	cr_assert(bind(ls, (struct sockaddr *)&sin, sizeof sin) == 0);
	cr_assert(listen(ls, 1) == 0);	/* ready before the fork */
	cr_assert(getsockname(ls, (struct sockaddr *)&sin, &len) == 0);
	port = ntohs(sin.sin_port);
	helper_pid = fork();
	cr_assert(helper_pid != -1);
	if (helper_pid == 0) {
		FILE *log = fopen(logpath, "w");
		int fd = accept(ls, NULL, NULL);

		if (fd == -1 || log == NULL)
			_exit(1);
		mini_serve(fd, mode, log);
		fclose(log);
		_exit(0);
	}
	close(ls);
	return port;
}

/*
 * The server goes away while the message is being written: a temporary
 * failure (75) with its log line -- not death by SIGPIPE.  gwengine is
 * started with SIGPIPE at its default, as from a shell or cron.
 */
Test(engine, server_closes_during_data)
{
	const char *file = path_in_dir("big.eml");
	size_t lines = 100000, n = 0;
	char *msg = (char *)tu_keep(xmalloc(lines * 80 + 64));
	struct tu_run r;
	int port = mini_server(MINI_CLOSE_AT_DATA);

	n += (size_t)sprintf(msg, "Subject: big\r\n\r\n");
	for (size_t i = 0; i < lines; i++)
		n += (size_t)sprintf(msg + n, "%07zu %s\r\n", i, "abcdefghijkl"
		    "mnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123");
	tu_write_file(file, msg, n);
	profile("p", NULL, "host=127.0.0.1", tu_fmt("port=%d", port), "tls=none",
	    "from=gw@example.com", "to=reader@example.net", "timeout=10",
	    NULL);
	r = eng(NULL, "send", "--profile", "p", "--message", file, NULL);
	cr_assert_neq(r.status, 128 + SIGPIPE, "gwengine was killed by "
	    "SIGPIPE when the server closed the connection during DATA "
	    "(stderr: '%s')", r.err);
	expect_exit(&r, EXIT_TEMPFAIL);
	expect_err(&r, "status=failed");
	tu_run_free(&r);
}

/* One recipient refused, the others accepted: sent, and the refusal said. */
Test(engine, one_recipient_refused)
{
	int port = mini_server(MINI_REFUSE_ONE);
	struct tu_run r;

	profile("p", NULL, "host=127.0.0.1", tu_fmt("port=%d", port), "tls=none",
	    "from=gw@example.com", "timeout=10", NULL);
	r = eng("body\n", "send", "--profile", "p", "--to", "one@example.net",
	    "--to", "bad@example.net", "--to", "two@example.net", NULL);
	expect_exit(&r, 0);
	expect_err(&r, "status=sent");
	expect_err(&r, "bad@example.net");
	expect_err(&r, "no such user");
	cr_assert_null(strstr(r.err, "one@example.net"), "%s", r.err);
	tu_run_free(&r);
	cr_assert_eq(log_count("RCPT"), 3);
	cr_assert_eq(log_count("DATA"), 1);
	cr_assert_eq(log_count("."), 1, "the data did not end: %s",
	    server_log());
}

/* 9. probe. */

static int
probe_server(const char *certname, const char *password)
{
	return serve("smtpd.py", "--mode", "starttls", "--cert",
	    cert(tu_fmt("%s.pem", certname)), "--key",
	    cert(tu_fmt("%s-key.pem", certname)), "--auth", "--user", USER,
	    "--password", password, NULL);
}

static void
probe_profile(int port, const char *password)
{
	profile("pr", password, "host=localhost", tu_fmt("port=%d", port),
	    "tls=explicit", tu_fmt("ca_file=%s", cert("ca.pem")), "auth=plain",
	    "username=" USER, "timeout=10", NULL);
}

/*
 * Compares the date at the start of v ("YYYY-MM-DD...", as probe prints
 * it) with today's (UTC): <0 before, 0 today, >0 after.
 */
static int
date_vs_today(const char *v)
{
	char today[16];
	time_t now = time(NULL);
	struct tm tm;

	cr_assert(v != NULL && strlen(v) >= 10 &&
	    isdigit((unsigned char)v[0]) && v[4] == '-' && v[7] == '-',
	    "not a date: '%s'", v ? v : "(null)");
	gmtime_r(&now, &tm);
	strftime(today, sizeof today, "%Y-%m-%d", &tm);
	return strncmp(v, today, 10);
}

/*
 * The value printed after label on its own line of probe's text: the
 * label, padded with spaces, then one space and the value.
 */
static const char *
probe_line(const char *out, const char *label)
{
	const char *p = out;
	size_t ll = strlen(label);

	while (p != NULL && *p != '\0') {
		if (strncmp(p, label, ll) == 0 && p[ll] == ' ') {
			const char *v = p + ll;

			while (*v == ' ')
				v++;
			/* "capabilities" is not "capabilities (clear)". */
			if (v - p >= 22)
				return tu_fmt("%.*s", (int)strcspn(v, "\n"), v);
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	cr_assert_fail("probe printed no '%s' line:\n%s", label, out);
	return NULL;
}

Test(engine, probe_text)
{
	const char *password = "Pr0be-pass", *v;
	int port = probe_server("good", password);
	struct tu_run r;

	probe_profile(port, password);
	r = eng(NULL, "probe", "pr", NULL);
	expect_exit(&r, 0);
	expect_no_secret(&r, password);
	v = probe_line(r.out, "server");
	cr_assert(strstr(v, tu_fmt(":%d", port)), "server %s", v);
	v = probe_line(r.out, "greeting");
	cr_assert(strstr(v, "220") || strstr(v, "localhost"), "greeting %s", v);
	v = probe_line(r.out, "tls");
	cr_assert(strncmp(v, "TLS1.", 5) == 0, "tls %s", v);
	v = probe_line(r.out, "cipher");
	cr_assert(strlen(v) > 3 && strcmp(v, "-") != 0, "cipher %s", v);
	v = probe_line(r.out, "certificate subject");
	cr_assert(strstr(v, "good test server"), "subject %s", v);
	v = probe_line(r.out, "certificate issuer");
	cr_assert(strstr(v, "gwsmtp test CA"), "issuer %s", v);
	/* good.pem: valid from yesterday for ten years. */
	cr_assert_lt(date_vs_today(probe_line(r.out, "valid from")), 0);
	cr_assert_gt(date_vs_today(probe_line(r.out, "valid until")), 0);
	v = probe_line(r.out, "fingerprint");
	cr_assert_str_eq(v, certtool_pin("good"));
	v = probe_line(r.out, "verification");
	cr_assert_str_eq(v, "ok");
	/* aiosmtpd hides AUTH until STARTTLS (auth_require_tls). */
	v = probe_line(r.out, "capabilities (clear)");
	cr_assert(strstr(v, "STARTTLS") && !strstr(v, "AUTH"), "clear: %s", v);
	v = probe_line(r.out, "capabilities");
	cr_assert(!strstr(v, "STARTTLS") && strstr(v, "AUTH"), "tls: %s", v);
	v = probe_line(r.out, "auth offered");
	cr_assert(strstr(v, "PLAIN") && strstr(v, "LOGIN"), "auth %s", v);
	v = probe_line(r.out, "authentication");
	cr_assert(strstr(v, "plain") && strstr(v, "accepted"), "%s", v);
	v = probe_line(r.out, "result");
	cr_assert_str_eq(v, "ok");
	tu_run_free(&r);
	/* Nothing sent. */
	cr_assert_eq(log_count("MAIL"), 0);
	cr_assert_eq(log_count("AUTH"), 1);
	cr_assert_null(mail_file(1, "eml", NULL));
}

Test(engine, probe_json)
{
	const char *password = "Pr0be-json";
	int port = probe_server("good", password);
	yajl_val j, tls, x;
	struct tu_run r;
	char err[256];

	probe_profile(port, password);
	r = eng(NULL, "probe", "pr", "--json", NULL);
	expect_exit(&r, 0);
	expect_no_secret(&r, password);
	j = yajl_tree_parse(r.out, err, sizeof err);
	cr_assert_not_null(j, "probe --json: %s\n%s", err, r.out);
	assert_jstr(j, "profile", "pr");
	cr_assert(strstr(tu_jstr(j, "server"), tu_fmt(":%d", port)));
	cr_assert_not_null(tu_jstr(j, "greeting"));
	tls = tu_jget(j, "tls");
	cr_assert(tls != NULL && YAJL_IS_OBJECT(tls), "tls: %s", r.out);
	cr_assert(strncmp(tu_jstr(tls, "version"), "TLS1.", 5) == 0);
	cr_assert_not_null(tu_jstr(tls, "cipher"));
	cr_assert(strstr(tu_jstr(tls, "subject"), "good test server"));
	cr_assert(strstr(tu_jstr(tls, "issuer"), "gwsmtp test CA"));
	cr_assert(jtrue(tls, "verified"));
	assert_jstr(tls, "verdict", "ok");
	assert_jstr(tls, "fingerprint", certtool_pin("good"));
	cr_assert_lt(date_vs_today(tu_jstr(tls, "not_before")), 0);
	cr_assert_gt(date_vs_today(tu_jstr(tls, "not_after")), 0);
	x = tu_jget(j, "capabilities_before_tls");
	cr_assert(x && YAJL_IS_ARRAY(x) && strstr(r.out, "\"STARTTLS\""));
	cr_assert(jlen(j, "capabilities") > 0);
	cr_assert(strstr(tu_jstr(j, "auth_offered"), "PLAIN"));
	assert_jstr(j, "auth", "plain");
	cr_assert(jtrue(j, "auth_tried"));
	cr_assert(jtrue(j, "auth_ok"));
	cr_assert(jtrue(j, "ok"));
	assert_jstr(j, "error", NULL);
	yajl_tree_free(j);
	tu_run_free(&r);
}

Test(engine, probe_wrong_password)
{
	int port = probe_server("good", "the-right-one");
	struct tu_run r;

	probe_profile(port, "Wr0ng-pr0be");
	r = eng(NULL, "probe", "pr", NULL);
	expect_exit(&r, EXIT_NOPERM);
	cr_assert(strstr(probe_line(r.out, "authentication"), "refused"),
	    "%s", r.out);
	expect_no_secret(&r, "Wr0ng-pr0be");
	tu_run_free(&r);
}

Test(engine, probe_expired_certificate)
{
	int port = probe_server("expired", "x-pass-123");
	struct tu_run r;

	probe_profile(port, "x-pass-123");
	r = eng(NULL, "probe", "pr", NULL);
	expect_exit(&r, EXIT_UNAVAIL);
	cr_assert(strstr(probe_line(r.out, "verification"), "expired"),
	    "%s", r.out);
	cr_assert(strstr(probe_line(r.out, "certificate subject"),
	    "expired test server"), "%s", r.out);
	expect_no_secret(&r, "x-pass-123");
	tu_run_free(&r);
	cr_assert_eq(log_count("AUTH"), 0);
}

/* --message from stdin, LF line ends, no Date or Message-ID: completed. */
Test(engine, message_completed_on_the_way)
{
	static const char msg[] = "From: gw@example.com\n"
	    "To: reader@example.net\nSubject: bare\n\n.dot\nbody\n";
	static const char want[] = "From: gw@example.com\r\nTo: "
	    "reader@example.net\r\nSubject: bare\r\n\r\n.dot\r\nbody\r\n";
	const char *hdr, *body, *eml;
	struct tu_run r;

	plain_profile();
	r = eng(msg, "send", "--message", "-", NULL);
	expect_exit(&r, 0);
	tu_run_free(&r);
	eml = mail_file(1, "eml", NULL);
	cr_assert_not_null(eml);
	hdr = header_of(eml, &body);
	cr_assert_not_null(field(hdr, "Date"), "%s", eml);
	cr_assert_not_null(field(hdr, "Message-ID"), "%s", eml);
	cr_assert_str_eq(body, ".dot\r\nbody\r\n");
	/* Added in front; what was given is kept as it was (in CRLF form). */
	cr_assert(strlen(eml) > strlen(want) &&
	    strcmp(eml + strlen(eml) - strlen(want), want) == 0, "%s", eml);
}

Test(engine, message_line_too_long)
{
	const char *file = path_in_dir("long.eml");
	char msg[2000] = "Subject: long\r\n\r\n";
	size_t n = strlen(msg);
	struct tu_run r;

	plain_profile();
	memset(msg + n, 'x', 1200);
	memcpy(msg + n + 1200, "\r\n", 3);
	tu_write_file(file, msg, strlen(msg));
	r = eng(NULL, "send", "--message", file, NULL);
	expect_exit(&r, EXIT_DATAERR);
	expect_err(&r, "line");
	tu_run_free(&r);
	cr_assert_str_eq(server_log(), "", "nothing should be sent");
}

/* 10. Configuration and usage errors: nothing is sent. */

/* A profile "p" pointing at a port nobody listens on. */
static void
dead_profile(const char *k1, const char *k2)
{
	profile("p", NULL, "host=127.0.0.1", tu_fmt("port=%d", tu_refused_port()),
	    "tls=none", k1 ? k1 : "timeout=5", k2 ? k2 : "retries=0", NULL);
}

Test(engine, no_profile_and_no_default)
{
	struct tu_run r;

	dead_profile("from=gw@example.com", "to=reader@example.net");
	r = eng("body\n", "send", NULL);
	expect_exit(&r, EXIT_CONFIG);
	expect_err(&r, "default");
	tu_run_free(&r);
	r = eng("body\n", "send", "--profile", "nosuch", NULL);
	expect_exit(&r, EXIT_CONFIG);
	expect_err(&r, "nosuch");
	tu_run_free(&r);
}

Test(engine, inactive_profile)
{
	int port = serve("smtpd.py", NULL);
	struct tu_run r;

	profile("p", NULL, "host=127.0.0.1", tu_fmt("port=%d", port), "tls=none",
	    "from=gw@example.com", "to=reader@example.net", "active=false",
	    NULL);
	r = eng("body\n", "send", "--profile", "p", NULL);
	expect_exit(&r, EXIT_CONFIG);
	expect_err(&r, "inactive");
	tu_run_free(&r);
	cr_assert_str_eq(server_log(), "");
}

Test(engine, smtp_disabled)
{
	int port = serve("smtpd.py", NULL);
	struct tu_run r;

	profile("p", NULL, "host=127.0.0.1", tu_fmt("port=%d", port), "tls=none",
	    "from=gw@example.com", "to=reader@example.net", NULL);
	admin("settings", "enabled=false", NULL);
	r = eng("body\n", "send", "--profile", "p", NULL);
	expect_exit(&r, EXIT_CONFIG);
	expect_err(&r, "enabled=true");
	tu_run_free(&r);
	cr_assert_str_eq(server_log(), "");
}

Test(engine, no_sender_or_no_recipient)
{
	struct tu_run r;

	dead_profile(NULL, NULL);
	r = eng("body\n", "send", "--profile", "p", "--to", "a@example.net",
	    NULL);
	expect_exit(&r, EXIT_USAGE);
	expect_err(&r, "sender");
	tu_run_free(&r);
	r = eng("body\n", "send", "--profile", "p", "--from",
	    "gw@example.com", NULL);
	expect_exit(&r, EXIT_USAGE);
	expect_err(&r, "recipient");
	tu_run_free(&r);
}

Test(engine, usage_errors)
{
	const char *att = path_in_dir("a.txt"), *msg = path_in_dir("m.eml");
	struct tu_run r;

	dead_profile("from=gw@example.com", "to=reader@example.net");
	tu_write_file(att, "x\n", 2);
	tu_write_file(msg, "Subject: x\r\n\r\nbody\r\n", 20);
	r = eng("body\n", "send", "--profile", "p", "--bogus", "1", NULL);
	expect_exit(&r, EXIT_USAGE);
	expect_err(&r, "--bogus");
	tu_run_free(&r);
	r = eng(NULL, "send", "--profile", "p", "--message", msg, "--attach",
	    att, NULL);
	expect_exit(&r, EXIT_USAGE);
	expect_err(&r, "--message");
	tu_run_free(&r);
	r = eng(NULL, "send", "--profile", "p", "--to", NULL);
	expect_exit(&r, EXIT_USAGE);
	tu_run_free(&r);
	r = eng(NULL, "send", "--profile", "p", "--to", "not an address",
	    NULL);
	expect_exit(&r, EXIT_USAGE);
	tu_run_free(&r);
	r = eng(NULL, "frobnicate", NULL);
	expect_exit(&r, EXIT_USAGE);
	tu_run_free(&r);
	r = eng(NULL, "probe", NULL);
	expect_exit(&r, EXIT_USAGE);
	tu_run_free(&r);
}

Test(engine, message_without_header)
{
	const char *msg = path_in_dir("m.eml");
	struct tu_run r;

	dead_profile("from=gw@example.com", "to=reader@example.net");
	tu_write_file(msg, "just a body\r\nno header\r\n", 24);
	r = eng(NULL, "send", "--profile", "p", "--message", msg, NULL);
	expect_exit(&r, EXIT_DATAERR);
	expect_err(&r, "header");
	tu_run_free(&r);
}

Test(engine, missing_files)
{
	struct tu_run r;

	dead_profile("from=gw@example.com", "to=reader@example.net");
	r = eng("body\n", "send", "--profile", "p", "--attach",
	    path_in_dir("no-such-file"), NULL);
	expect_exit(&r, EXIT_NOINPUT);
	expect_err(&r, "no-such-file");
	tu_run_free(&r);
	r = eng(NULL, "send", "--profile", "p", "--message",
	    path_in_dir("no-such-message"), NULL);
	expect_exit(&r, EXIT_NOINPUT);
	expect_err(&r, "no-such-message");
	tu_run_free(&r);
}

Test(engine, unreachable_server)
{
	struct tu_run r;

	dead_profile("from=gw@example.com", "to=reader@example.net");
	r = eng("body\n", "send", "--profile", "p", NULL);
	expect_exit(&r, EXIT_UNAVAIL);
	expect_err(&r, "status=failed");
	expect_err(&r, "Connection refused");
	tu_run_free(&r);
}

/* --db after the subcommand (SPEC 7). */
Test(engine, db_after_subcommand)
{
	const char *argv[] = { getenv("GWENGINE"), "send", "--profile", "p",
	    "--db", db, NULL };
	struct tu_run r;

	plain_profile();
	cr_assert_not_null(argv[0]);
	tu_run_cmd(&r, "body\n", argv);
	expect_exit(&r, 0);
	tu_run_free(&r);
	cr_assert_not_null(mail_file(1, "eml", NULL));
}
