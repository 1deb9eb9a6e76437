/*
 * tests/test_copy.c: gwadmin copy --to DB end to end: the real gwadmin and
 * gwengine make a store with profiles (with passwords), settings, an audit
 * trail and a queue (sent, failed, deferred and waiting messages, through
 * a run against tests/servers/smtpd.py), which is copied SQLite ->
 * PostgreSQL -> SQLite and compared, and the copy of the copy then
 * delivers its queue; and the copies gwadmin refuses.
 *
 * The round trip needs both kinds of database at once: its PostgreSQL
 * ones come from tu_pg_db(), for which the integration suite runs this
 * program under tests/servers/pgcluster.sh; the postgresql suite runs it
 * again with its own database (tu_db()) on PostgreSQL (copy-pg), so that
 * the refusals are seen on both.  What is compared is what a user sees
 * (export --include-secrets, gwengine queue --json) and, through the
 * store's interface, what no command shows: the audit trail, and every
 * queued message's fields and body.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "core/xmalloc.h"
#include "store/store.h"
#include "tests/servers.h"
#include "tests/testutil.h"

/* sysexits.h, spelled out: these numbers are the contract (gwadmin(1)). */
#define EXIT_USAGE	64
#define EXIT_IOERR	74
#define EXIT_CANTCREAT	73
#define EXIT_NOPERM	77
#define EXIT_CONFIG	78

#define MAX_ARGS	32
#define MAX_JSON	16

#define PW_RELAY	"pw-relay-9f3a"
#define PW_SPARE	"pw-spare-77c1"

static char		*dir;
static char		*db;
static struct tu_server	*server;
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
	tu_server_stop(server);
	server = NULL;
	for (size_t i = 0; i < njsons; i++)
		yajl_tree_free(jsons[i]);
	njsons = 0;
	tu_kept_free();
	tu_rmtree(dir);
	free(dir);
	free(db);
}

TestSuite(copy, .init = setup, .fini = teardown);

/* A SQLite database in the test's directory. */
static const char *
path(const char *name)
{
	return tu_fmt("%s/%s", dir, name);
}

/* argv[0] ARGS... (NULL-terminated) on database to, stdin from in. */
static struct tu_run
vrun(const char *prog, const char *to, const char *in, va_list ap)
{
	const char *argv[MAX_ARGS] = { prog, "--db", to };
	struct tu_run r;
	size_t n = 3;

	while ((argv[n] = va_arg(ap, const char *)) != NULL)
		cr_assert(++n < MAX_ARGS);
	tu_run_cmd(&r, in, argv);
	return r;
}

/* gwadmin --db TO ARGS... */
static struct tu_run
admin(const char *to, const char *in, ...)
{
	struct tu_run r;
	va_list ap;

	va_start(ap, in);
	r = vrun(getenv("GWADMIN"), to, in, ap);
	va_end(ap);
	return r;
}

/* gwengine --db TO ARGS... */
static struct tu_run
engine(const char *to, const char *in, ...)
{
	struct tu_run r;
	va_list ap;

	cr_assert_not_null(getenv("GWENGINE"), "run through meson test");
	va_start(ap, in);
	r = vrun(getenv("GWENGINE"), to, in, ap);
	va_end(ap);
	return r;
}

/* r, which must have exited with want; what it printed kept to the end. */
static struct tu_run
expect(struct tu_run r, int want, const char *what)
{
	cr_assert_eq(r.status, want, "%s: exit %d, expected %d\nstdout: %s\n"
	    "stderr: %s", what, r.status, want, r.out, r.err);
	tu_keep(r.out);
	tu_keep(r.err);
	return r;
}

/* gwengine submit to rcpt on to; returns the queue id it printed. */
static long long
submit(const char *to, const char *rcpt, const char *subject)
{
	const char *out = expect(engine(to, "a body line\n", "submit", "--to",
	    rcpt, "--subject", subject, NULL), 0, "submit").out;

	return strtoll(out, NULL, 10);
}

static const char *
export_of(const char *to)
{
	return expect(admin(to, NULL, "export", "--include-secrets", NULL), 0,
	    "export").out;
}

static const char *
queue_of(const char *to)
{
	return expect(engine(to, NULL, "queue", "--json", NULL), 0,
	    "queue").out;
}

static int
dump_audit(const struct store_audit *a, void *arg)
{
	fprintf(arg, "audit %lld %lld %s %s %s %s %s\n", a->id,
	    (long long)a->time, a->os_user, a->program, a->action,
	    a->profile != NULL ? a->profile : "(null)", a->keys);
	return 0;
}

/*
 * Everything the store holds, as text, through its interface: profiles
 * key by key (passwords too) with their revisions, the settings, the
 * audit trail, and every queued message's fields, recipients and body.
 */
static const char *
dump(const char *to)
{
	struct store *s;
	struct profile **p = NULL;
	struct smtp_settings set;
	struct store_qmsg *q = NULL;
	size_t np = 0, nq = 0, len = 0;
	char *cause = NULL, *text = NULL;
	FILE *f = open_memstream(&text, &len);

	cr_assert_eq(store_open(to, "test", &s, &cause), STORE_OK, "%s", cause);
	cr_assert_eq(store_profile_list(s, &p, &np, &cause), STORE_OK, "%s",
	    cause);
	for (size_t i = 0; i < np; i++) {
		fprintf(f, "profile revision %lld", p[i]->revision);
		for (int k = 0; k < PROFILE_KEY_COUNT; k++) {
			char *v = profile_get(p[i], (enum profile_key)k);

			fprintf(f, " %s=%s", profile_key_name(k), v);
			free(v);
		}
		fputc('\n', f);
		profile_free(p[i]);
	}
	free(p);
	cr_assert_eq(store_settings_get(s, &set, &cause), STORE_OK, "%s",
	    cause);
	for (int k = 0; k < SETTINGS_KEY_COUNT; k++) {
		char *v = settings_get(&set, (enum settings_key)k);

		fprintf(f, "setting %s=%s\n", settings_key_name(k), v);
		free(v);
	}
	settings_clear(&set);
	cr_assert_eq(store_audit_foreach(s, dump_audit, f, &cause), STORE_OK,
	    "%s", cause);
	cr_assert_eq(store_queue_list(s, &q, &nq, &cause), STORE_OK, "%s",
	    cause);
	for (size_t i = 0; i < nq; i++) {
		struct store_qmsg *m = &q[i];
		int rc = store_queue_body(s, m, &cause);

		cr_assert(rc == STORE_OK || rc == STORE_NOT_FOUND, "%s", cause);
		fprintf(f, "message %lld %s %s %s %s attempts %d held %d "
		    "submitted %lld next %lld updated %lld reply %s size %zu\n",
		    m->id, m->message_id, m->profile, m->sender,
		    queue_state_name(m->state), m->attempts, m->held,
		    (long long)m->submitted, (long long)m->next_attempt,
		    (long long)m->updated, m->last_reply ? m->last_reply : "-",
		    m->size);
		for (size_t j = 0; j < m->nrcpt; j++)
			fprintf(f, "  rcpt %s %s %d %s\n", m->rcpt[j].addr,
			    queue_rcpt_state_name(m->rcpt[j].state),
			    m->rcpt[j].code, m->rcpt[j].reply ?
			    m->rcpt[j].reply : "-");
		if (m->data != NULL)
			fprintf(f, "  body %zu bytes\n%s\n", m->datalen,
			    m->data);
		else
			fputs("  no body\n", f);
	}
	store_qmsg_free_array(q, nq);
	store_close(s);
	fclose(f);
	return tu_keep(text);
}

/* What a store holds, counted through its interface. */
static struct store_counts
counts_of(const char *to)
{
	struct store_counts c;
	struct store *s;
	char *cause = NULL;

	cr_assert_eq(store_open(to, "test", &s, &cause), STORE_OK, "%s", cause);
	cr_assert_eq(store_counts(s, &c, &cause), STORE_OK, "%s", cause);
	store_close(s);
	return c;
}

static void
assert_empty(const char *to)
{
	struct store_counts c = counts_of(to);

	cr_assert(c.profiles == 0 && c.settings == 0 && c.audit == 0 &&
	    c.queue == 0, "%s holds %zu profiles, %zu settings, %zu audit "
	    "rows, %zu messages", to, c.profiles, c.settings, c.audit,
	    c.queue);
}

/*
 * smtpd.py that takes PLAIN from gw with PW_RELAY, refuses bad@ for good
 * and later@ for now; its messages in DIR/mail.
 */
static int
start_server(void)
{
	const char *args[] = { "--maildir", path("mail"), "--log",
	    path("smtpd.log"), "--auth", "--user", "gw", "--password",
	    PW_RELAY, "--rcpt-reply-for", "bad@example.net=550 5.1.1 no such "
	    "user", "--rcpt-reply-for", "later@example.net=450 4.2.1 try "
	    "later", NULL };

	server = tu_server_start("smtpd.py", args);
	return tu_server_port(server);
}

/* How many messages the server stored (NNNN.eml, numbered from 1). */
static size_t
received(void)
{
	size_t k = 0;

	while (access(tu_fmt("%s/%04zu.eml", path("mail"), k + 1), F_OK) == 0)
		k++;
	return k;
}

/*
 * Profiles (relay, sending to the server on port with a password; spare,
 * with another; gone, made and deleted), an update, the settings; then a
 * queue: one message sent, one failed (550), one deferred (450), through
 * gwengine run --once, and two waiting, one with two recipients.
 */
static void
seed(const char *to, int port)
{
	const char *err;

	tu_admin_ok(to, PW_RELAY "\n", "set", "relay", "host=127.0.0.1",
	    tu_fmt("port=%d", port), "tls=none", "auth=plain", "username=gw",
	    "allow_plain_auth_without_tls=true", "from=gw@example.com",
	    "timeout=10", "retries=3", "retry_delay=600", "retry_max=600",
	    "--password-stdin", NULL);
	tu_admin_ok(to, PW_SPARE "\n", "set", "spare", "host=smtp.example.com",
	    "tls=explicit", "auth=login", "username=spare",
	    "--password-stdin", NULL);
	tu_admin_ok(to, NULL, "set", "gone", "host=gone.example.com", NULL);
	tu_admin_ok(to, NULL, "delete", "gone", NULL);
	tu_admin_ok(to, NULL, "set", "relay", "comment=the relay", NULL);
	tu_admin_ok(to, NULL, "settings", "default_profile=relay",
	    "subject_delimiter=//COPY", NULL);

	submit(to, "ok@example.net", "sent");
	submit(to, "bad@example.net", "failed");
	submit(to, "later@example.net", "deferred");
	err = expect(engine(to, NULL, "run", "--once", NULL), 0, "run").err;
	cr_assert(strstr(err, "1 sent, 1 deferred, 1 failed, 0 held"), "%s",
	    err);
	cr_assert_eq(received(), 1);
	expect(engine(to, "two of them\n", "submit", "--to", "a@example.net",
	    "--to", "b@example.net", "--subject", "waiting", NULL), 0,
	    "submit");
	submit(to, "c@example.net", "waiting too");
}

static void
assert_no_secret(const char *text)
{
	cr_assert_null(strstr(text, PW_RELAY), "a password printed: %s", text);
	cr_assert_null(strstr(text, PW_SPARE), "a password printed: %s", text);
}

/* The queue --json entry of message id (kept), which must be there. */
static yajl_val
entry(const char *json, long long id)
{
	char err[256];
	yajl_val v = yajl_tree_parse(json, err, sizeof err);

	cr_assert_not_null(v, "queue --json: %s\n%s", err, json);
	cr_assert(njsons < MAX_JSON);
	jsons[njsons++] = v;
	for (size_t i = 0; i < YAJL_GET_ARRAY(v)->len; i++) {
		yajl_val m = YAJL_GET_ARRAY(v)->values[i];

		if (YAJL_GET_INTEGER(tu_jget(m, "id")) == id)
			return m;
	}
	cr_assert_fail("no message %lld in\n%s", id, json);
	return NULL;
}

Test(copy, sqlite_to_postgresql_to_sqlite_keeps_everything_then_delivers)
{
	const char *s1 = path("s1.db"), *s2 = path("s2.db"), *pg, *out;
	const char *exp, *queue, *all;
	struct tu_run r;
	long long next;

	pg = tu_keep(tu_pg_db());
	seed(s1, start_server());
	exp = export_of(s1);
	queue = queue_of(s1);
	all = dump(s1);

	r = admin(s1, NULL, "copy", "--to", pg, NULL);
	assert_no_secret(r.out);
	assert_no_secret(r.err);
	out = expect(r, 0, "copy to PostgreSQL").out;
	cr_assert(strstr(out, "copied 2 profiles, 2 settings, 6 audit rows "
	    "and 5 queued messages to postgresql://"), "%s", out);
	r = admin(pg, NULL, "copy", "--to", s2, NULL);
	assert_no_secret(r.out);
	assert_no_secret(r.err);
	out = expect(r, 0, "copy to SQLite").out;
	cr_assert(strstr(out, tu_fmt("copied 2 profiles, 2 settings, 6 audit "
	    "rows and 5 queued messages to %s\n", s2)), "%s", out);

	cr_assert(strstr(exp, PW_RELAY) && strstr(exp, PW_SPARE), "%s", exp);
	cr_assert_str_eq(export_of(pg), exp);
	cr_assert_str_eq(export_of(s2), exp);
	cr_assert_str_eq(queue_of(pg), queue);
	cr_assert_str_eq(queue_of(s2), queue);
	cr_assert_str_eq(dump(pg), all);
	cr_assert_str_eq(dump(s2), all);
	cr_assert_str_eq(dump(s1), all, "the source changed");

	/* Ids go on after the copied ones: PostgreSQL's sequences too. */
	next = submit(pg, "d@example.net", "after the copy");
	cr_assert_eq(next, 6, "PostgreSQL queued id %lld after 1..5", next);
	tu_admin_ok(pg, NULL, "set", "later", "host=later.example.com", NULL);
	cr_assert(strstr(dump(pg), "\naudit 7 "), "%s", dump(pg));
	cr_assert_eq(submit(s2, "e@example.net", "after the copy"), 6);

	/*
	 * The copy of the copy sends with the copied password: the three
	 * waiting messages go, the deferred one waits for its back-off.
	 */
	out = expect(engine(s2, NULL, "run", "--once", NULL), 0, "run").err;
	cr_assert(strstr(out, "3 sent, 0 deferred, 0 failed, 0 held"), "%s",
	    out);
	cr_assert_eq(received(), 4);
	queue = queue_of(s2);
	for (long long id = 4; id <= 6; id++)
		cr_assert_str_eq(tu_jstr(entry(queue, id), "state"), "sent");
	cr_assert_str_eq(tu_jstr(entry(queue, 3), "state"), "deferred");
}

Test(copy, a_message_being_sent_is_copied_given_back)
{
	const char *to = path("copy.db"), *err, *queue;
	struct store_qmsg *v = NULL, rec;
	struct store *s;
	time_t now;
	size_t n = 0;
	char *cause = NULL;

	tu_admin_ok(db, NULL, "set", "p", "host=192.0.2.1", "tls=none",
	    "from=gw@example.com", NULL);
	tu_admin_ok(db, NULL, "settings", "default_profile=p", NULL);
	submit(db, "a@example.net", "first");
	submit(db, "b@example.net", "second");
	/* An engine elsewhere holds 1 (never tried) and 2 (tried once). */
	now = time(NULL);
	cr_assert_eq(store_open(db, "test", &s, &cause), STORE_OK, "%s", cause);
	cr_assert_eq(store_queue_claim(s, "p", "elsewhere", now, now + 3600, 2,
	    &v, &n, &cause), STORE_OK, "%s", cause);
	cr_assert_eq(n, 2);
	rec = v[1];
	rec.state = QUEUE_DEFERRED;
	rec.attempts = 1;
	rec.next_attempt = now;
	cr_assert_eq(store_queue_record(s, &rec, "elsewhere", now, &cause),
	    STORE_OK, "%s", cause);
	store_qmsg_free_array(v, n);
	cr_assert_eq(store_queue_claim(s, "p", "elsewhere", now, now + 3600, 1,
	    &v, &n, &cause), STORE_OK, "%s", cause);
	cr_assert_eq(n, 1);
	store_qmsg_free_array(v, n);
	store_close(s);

	err = expect(admin(db, NULL, "copy", "--to", to, NULL), 0, "copy").err;
	cr_assert(strstr(err, "2 messages that an engine was sending were "
	    "copied as waiting to be sent"), "%s", err);
	queue = queue_of(to);
	cr_assert_str_eq(tu_jstr(entry(queue, 1), "state"), "queued");
	cr_assert_eq(YAJL_GET_INTEGER(tu_jget(entry(queue, 1), "attempts")), 0);
	cr_assert_str_eq(tu_jstr(entry(queue, 2), "state"), "deferred");
	cr_assert_eq(YAJL_GET_INTEGER(tu_jget(entry(queue, 2), "attempts")), 1);
	/* The source is only read: its engine still holds them. */
	queue = queue_of(db);
	cr_assert_str_eq(tu_jstr(entry(queue, 1), "state"), "sending");
	cr_assert_str_eq(tu_jstr(entry(queue, 2), "state"), "sending");
}

Test(copy, refuses_a_target_that_is_not_empty_and_changes_nothing)
{
	const char *src = path("src.db"), *before, *err;

	tu_admin_ok(src, NULL, "set", "theirs", "host=theirs.example.com",
	    NULL);
	tu_admin_ok(db, NULL, "set", "mine", "host=mine.example.com", NULL);
	tu_admin_ok(db, NULL, "settings", "enabled=false", NULL);
	before = dump(db);
	err = expect(admin(src, NULL, "copy", "--to", db, NULL),
	    EXIT_CANTCREAT, "copy into a store with a profile").err;
	cr_assert(strstr(err, "is not empty: it holds 1 profile, 1 setting, "
	    "2 audit rows and 0 queued messages; copy into a new database.  "
	    "Nothing was copied"), "%s", err);
	cr_assert_str_eq(dump(db), before);

	/* No profile left, but a trail: not empty either. */
	tu_admin_ok(db, NULL, "delete", "mine", NULL);
	tu_admin_ok(db, NULL, "settings", "enabled=true", NULL);
	before = dump(db);
	err = expect(admin(src, NULL, "copy", "--to", db, NULL),
	    EXIT_CANTCREAT, "copy into a store with an audit trail").err;
	cr_assert(strstr(err, "it holds 0 profiles, 1 setting, 4 audit rows"),
	    "%s", err);
	cr_assert_str_eq(dump(db), before);
}

Test(copy, refuses_no_target_the_source_itself_and_bad_uris)
{
	const char *before, *err;

	tu_admin_ok(db, NULL, "set", "p", "host=p.example.com", NULL);
	before = dump(db);
	err = expect(admin(db, NULL, "copy", NULL), EXIT_USAGE, "no --to").err;
	cr_assert(strstr(err, "copy: into which database? give it with --to "
	    "DB"), "%s", err);
	err = expect(admin(db, NULL, "copy", "--to", NULL), EXIT_USAGE,
	    "--to without DB").err;
	cr_assert(strstr(err, "usage: gwadmin copy --to DB"), "%s", err);
	err = expect(admin(db, NULL, "copy", "--to", path("x.db"), "extra",
	    NULL), EXIT_USAGE, "an extra argument").err;
	cr_assert(strstr(err, "copy: unexpected 'extra'"), "%s", err);
	err = expect(admin(db, NULL, "copy", "--to", db, NULL), EXIT_USAGE,
	    "into itself").err;
	cr_assert(strstr(err, "is the database being copied"), "%s", err);
	if (!tu_pg()) {
		err = expect(admin(db, NULL, "copy", "--to", path("./gw.db"),
		    NULL), EXIT_USAGE, "into itself by another path").err;
		cr_assert(strstr(err, "is the database being copied"), "%s",
		    err);
	}

	/* URIs refused before anything connects; the password never shown. */
	err = expect(admin(db, NULL, "copy", "--to", "postgresql://gw:"
	    "s3cret-in-uri@db.example.com/gw", NULL), EXIT_NOPERM,
	    "a password in clear over the network").err;
	cr_assert(strstr(err, "without TLS"), "%s", err);
	cr_assert_null(strstr(err, "s3cret-in-uri"), "%s", err);
	err = expect(admin(db, NULL, "copy", "--to", "postgresql://localhost/"
	    "gw?sslmode=sometimes", NULL), EXIT_CONFIG, "a bad sslmode").err;
	cr_assert(strstr(err, "sslmode 'sometimes'"), "%s", err);
	cr_assert_str_eq(dump(db), before, "the source changed");

	/* A database the server does not have: created by its administrator. */
	if (getenv("GWSMTP_TEST_PG") != NULL) {
		const char *pg = tu_keep(tu_pg_db());
		const char *at = strstr(pg, "gwtest_");
		const char *missing = tu_fmt("%.*sgwmissing_%s", (int)(at - pg),
		    pg, at + 7);

		err = expect(admin(db, NULL, "copy", "--to", missing, NULL),
		    EXIT_CONFIG, "a database that does not exist").err;
		cr_assert(strstr(err, "create it first"), "%s", err);
	}
}

/* Deletes the body of message id by hand: the source is then damaged. */
static void
lose_body(const char *to, long long id)
{
	const char *sql = tu_fmt("DELETE FROM queue_data WHERE msg = %lld", id);
	const char *argv[] = { "sqlite3", to, sql, NULL };
	struct tu_run r;

	if (tu_pg()) {
		free(tu_psql(to, sql));
		return;
	}
	tu_need_tool("sqlite3");
	tu_run_cmd(&r, NULL, argv);
	cr_assert_eq(r.status, 0, "sqlite3: %s", r.err);
	tu_run_free(&r);
}

Test(copy, a_copy_that_fails_leaves_the_target_empty)
{
	const char *to = path("t.db"), *good = path("good.db"), *err, *pg;

	tu_admin_ok(db, "pw-x\n", "set", "p", "host=p.example.com",
	    "tls=implicit", "auth=login", "username=u", "from=gw@example.com",
	    "--password-stdin", NULL);
	tu_admin_ok(db, NULL, "settings", "default_profile=p", NULL);
	submit(db, "a@example.net", "one");
	lose_body(db, submit(db, "b@example.net", "two"));

	/* Profiles, settings and the trail were written before it failed. */
	err = expect(admin(db, NULL, "copy", "--to", to, NULL), EXIT_IOERR,
	    "copy of a damaged store").err;
	cr_assert(strstr(err, "message 2 cannot be copied"), "%s", err);
	cr_assert(strstr(err, "gwadmin: copy: nothing was copied\n"), "%s",
	    err);
	assert_empty(to);
	pg = tu_keep(tu_pg_db());
	err = expect(admin(db, NULL, "copy", "--to", pg, NULL), EXIT_IOERR,
	    "copy of a damaged store to PostgreSQL").err;
	assert_empty(pg);

	/* Empty indeed: another copy is taken, ids and all. */
	tu_admin_ok(good, NULL, "set", "q", "host=q.example.com", NULL);
	tu_admin_ok(good, NULL, "copy", "--to", to, NULL);
	tu_admin_ok(good, NULL, "copy", "--to", pg, NULL);
	cr_assert_str_eq(dump(to), dump(good));
	cr_assert_str_eq(dump(pg), dump(good));
}

Test(copy, help_names_the_command)
{
	const char *help[] = { "--help", NULL };
	const char *one[] = { "copy", "--help", NULL };
	struct tu_run r;

	tu_gwadmin(&r, NULL, help);
	cr_assert_eq(r.status, 0);
	cr_assert(strstr(r.out, "copy --to DB"), "%s", r.out);
	cr_assert(strstr(r.out, "copy into a\ndatabase that is not empty"),
	    "%s", r.out);
	tu_run_free(&r);
	tu_gwadmin(&r, NULL, one);
	cr_assert_eq(r.status, 0);
	cr_assert_str_eq(r.out, "usage: gwadmin copy --to DB\n");
	tu_run_free(&r);
}
