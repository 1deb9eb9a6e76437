/*
 * engine/gwengine.c: gwengine's command line: send (deliver one message
 * now), submit (queue it), queue (show the queue), run (deliver the queue:
 * engine/runner.c) and probe (connect, report, send nothing).
 *
 * It reads the profile and the global settings from the store, builds the
 * message, hands it to smtp.c or the queue, and turns the outcome into a
 * sysexits.h code.  Lines for the log go through engine/log.h; the
 * protocol code below it never sees the terminal.
 */
#include "engine/gwengine.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "core/message.h"
#include "core/profile.h"
#include "core/text.h"
#include "core/xmalloc.h"
#include "engine/log.h"
#include "engine/probe.h"
#include "engine/runner.h"
#include "engine/smtp.h"
#include "store/store.h"

/* sysexits.h has no code for a protocol error; SPEC section 7 uses 76. */
#define EX_PROTOCOL_ERROR	76

/* Attachments and --message files larger than this are refused. */
#define FILE_MAX		(256u << 20)

static const char usage_text[] =
"usage: gwengine [--db PATH] COMMAND [OPTIONS]\n"
"\n"
"Send mail through the SMTP profiles that gwadmin configures.\n"
"\n"
"Commands:\n"
"  send [--profile NAME] [--from ADDR] [--to ADDR]... [--subject TEXT]\n"
"       [--attach FILE]... [--message FILE|-]\n"
"                     deliver one message now; the body is read from\n"
"                     standard input unless --message gives a whole one\n"
"  submit (the options of send)\n"
"                     put the message in the queue; print its queue id\n"
"  run [--once] [--syslog] [--lease SECONDS]\n"
"                     deliver the queue until SIGTERM, or with --once what\n"
"                     is due now; --syslog logs to syslog (facility mail)\n"
"  queue [--json]     each queued message: state, attempts, next attempt,\n"
"                     recipients and the server's last reply\n"
"  probe NAME [--json]\n"
"                     connect with profile NAME and report the server,\n"
"                     TLS, certificate and authentication; send nothing\n"
"\n"
"Options:\n"
"  --db PATH    the database (else $GWSMTP_DB, else\n"
"               $XDG_DATA_HOME/gwsmtp/gwsmtp.db); before or after COMMAND\n"
"  --help       this text\n"
"  --version    the version\n"
"\n"
"Exit status: 0 sent (queued, for submit), 64 usage, 65 bad data or refused by the server (5xx),\n"
"66 no such file, 69 server or TLS unavailable, 75 temporary failure,\n"
"76 protocol error, 77 authentication failed or permissions, 78 bad\n"
"configuration.  See gwengine(1).\n";

static int
usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
usage(const char *fmt, ...)
{
	va_list ap;

	fputs("gwengine: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n(gwengine --help shows the usage)\n", stderr);
	return EX_USAGE;
}

int
gwengine_exit_code(enum smtp_status st)
{
	switch (st) {
	case SMTP_OK:
		return 0;
	case SMTP_ERR_TEMP:
		return EX_TEMPFAIL;
	case SMTP_ERR_PERM:
	case SMTP_ERR_DATA:
		return EX_DATAERR;
	case SMTP_ERR_UNAVAILABLE:
		return EX_UNAVAILABLE;
	case SMTP_ERR_PROTOCOL:
		return EX_PROTOCOL_ERROR;
	case SMTP_ERR_AUTH:
		return EX_NOPERM;
	case SMTP_ERR_CONFIG:
		break;
	}
	return EX_CONFIG;
}

int
gwengine_store_exit(int status, char *cause)
{
	log_error("%s", cause ? cause : "database error");
	free(cause);
	switch (status) {
	case STORE_PERM:
		return EX_NOPERM;
	case STORE_BADFILE:
		return EX_CONFIG;
	case STORE_BUSY:
		return EX_TEMPFAIL;
	default:
		break;
	}
	return EX_IOERR;
}

/* Opens the database (--db, else the default); 0 or the exit code. */
static int
open_store(const char *db, struct store **out)
{
	char *cause = NULL, *def = NULL;
	int rc;

	if (db == NULL && (db = def = store_default_path(&cause)) == NULL)
		return gwengine_store_exit(STORE_ERROR, cause);
	rc = store_open(db, "gwengine", out, &cause);
	free(def);
	return rc == STORE_OK ? 0 : gwengine_store_exit(rc, cause);
}

/*
 * Reads the profile to use (name, else the default) and the settings.
 * On failure prints why and returns the exit code.
 */
static int
load_config(struct store *s, const char *name, struct profile **out,
    struct smtp_settings *set)
{
	struct diag_list errs = { 0 };
	char *cause = NULL;
	int rc;

	if ((rc = store_settings_get(s, set, &cause)) != STORE_OK) {
		rc = gwengine_store_exit(rc, cause);
		goto out;
	}
	if (name == NULL)
		name = set->default_profile;
	if (name == NULL) {
		log_error("no --profile given and no default profile set (gwadmin "
		    "settings default_profile=NAME)");
		rc = EX_CONFIG;
		goto out;
	}
	rc = store_profile_get(s, name, out, &cause);
	if (rc == STORE_NOT_FOUND) {
		char *n = text_escape(name);

		log_error("no profile named '%s' (gwadmin list shows them)", n);
		free(n);
		rc = EX_CONFIG;
		goto out;
	}
	if (rc != STORE_OK) {
		rc = gwengine_store_exit(rc, cause);
		goto out;
	}
	/* The store holds what gwadmin validated; check again all the same. */
	if (profile_validate(*out, &errs) > 0) {
		char *line = diag_format(&errs.v[0], NULL);

		log_error("profile '%s' cannot be used: %s", name, line);
		free(line);
		profile_free(*out);
		*out = NULL;
		rc = EX_CONFIG;
		goto out;
	}
	rc = 0;
out:
	diag_list_clear(&errs);
	return rc;
}

char *
gwengine_helo_name(const struct profile *p)
{
	char host[HOST_NAME_MAX + 1], *cause = NULL;

	if (p->helo != NULL)
		return xstrdup(p->helo);
	if (gethostname(host, sizeof host) == 0) {
		host[sizeof host - 1] = '\0';
		if (profile_check_host(host, &cause) == 0)
			return xstrdup(host);
		free(cause);
	}
	return xstrdup("localhost.localdomain");
}

/* Reads a whole file ("-": standard input).  NULL with errno. */
static char *
slurp(const char *path, size_t *lenp)
{
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO :
	    open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0, cap = 65536;
	char *buf;

	if (fd == -1)
		return NULL;
	buf = xmalloc(cap);
	for (;;) {
		ssize_t n;

		if (len == cap) {
			if (cap >= FILE_MAX) {
				free(buf);
				if (fd != STDIN_FILENO)
					close(fd);
				errno = EFBIG;
				return NULL;
			}
			cap *= 2;
			buf = xreallocarray(buf, cap, 1);
		}
		n = read(fd, buf + len, cap - len);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			if (fd != STDIN_FILENO)
				close(fd);
			return NULL;
		}
		len += (size_t)n;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	*lenp = len;
	return buf;
}

struct send_opts {
	const char	*profile;
	const char	*from;
	const char	**to;
	size_t		 nto;
	const char	*subject;
	const char	**attach;
	size_t		 nattach;
	const char	*message;
};

/* Checks an address as the profile's from/to keys are checked. */
static int
check_address(const char *opt, const char *addr)
{
	char *cause = NULL, *shown;
	int rc = profile_check_value(PROFILE_KEY_FROM, addr, &cause);

	if (rc == 0 && *addr != '\0')
		return 0;
	shown = text_escape(addr);
	log_error("%s '%s' %s", opt, shown, cause ? cause : "is empty");
	free(shown);
	free(cause);
	return -1;
}

/* The subject with the gateway parameters after the delimiter. */
static char *
subject_with_params(const struct send_opts *o, const struct profile *p,
    const struct smtp_settings *set)
{
	char *out, *next;

	if (!set->subject_params)
		return o->subject ? xstrdup(o->subject) : NULL;
	out = xasprintf("%s%s%s PROFILE=%s", o->subject ? o->subject : "",
	    o->subject ? " " : "", set->subject_delimiter, p->name);
	for (size_t i = 0; i < o->nattach; i++) {
		const char *base = strrchr(o->attach[i], '/');

		next = xasprintf("%s FILE=%s", out, base ? base + 1 :
		    o->attach[i]);
		free(out);
		out = next;
	}
	return out;
}

/*
 * Builds or completes the message; returns its DATA form and the message's
 * own size in octets (*size), or an exit code.
 */
static int
make_message(const struct send_opts *o, const struct profile *p,
    const struct smtp_settings *set, const char *from, const char *helo,
    char **data, size_t *datalen, size_t *size, char **msgid)
{
	struct message_attachment *att = NULL;
	char *msg = NULL, *cause = NULL, *raw = NULL, *subject = NULL;
	size_t msglen = 0, rawlen = 0;
	int rc = EX_DATAERR;
	const char *domain = strchr(from, '@') ? strchr(from, '@') + 1 : helo;

	if (o->message != NULL) {
		if ((raw = slurp(o->message, &rawlen)) == NULL) {
			log_error("--message %s: %s", o->message, strerror(errno));
			return EX_NOINPUT;
		}
		if (message_complete(raw, rawlen, domain, time(NULL), &msg,
		    &msglen, &cause) != 0) {
			log_error("--message %s: %s", o->message, cause);
			goto out;
		}
	} else {
		struct message_params mp = {
			.from = from,
			.to = o->nto ? o->to : (const char *const[]){ p->to },
			.nto = o->nto ? o->nto : 1,
			.domain = domain,
			.now = time(NULL),
		};

		att = xcalloc(o->nattach + 1, sizeof *att);
		for (size_t i = 0; i < o->nattach; i++) {
			const char *base = strrchr(o->attach[i], '/');
			size_t len;

			att[i].data = (unsigned char *)slurp(o->attach[i], &len);
			if (att[i].data == NULL) {
				log_error("--attach %s: %s", o->attach[i],
				    strerror(errno));
				rc = EX_NOINPUT;
				goto out;
			}
			att[i].len = len;
			att[i].name = base ? base + 1 : o->attach[i];
		}
		if ((raw = slurp("-", &rawlen)) == NULL) {
			log_error("reading the body from standard input: %s",
			    strerror(errno));
			rc = EX_IOERR;
			goto out;
		}
		subject = subject_with_params(o, p, set);
		mp.subject = subject;
		mp.body = raw;
		mp.body_len = rawlen;
		mp.attachments = att;
		mp.nattachments = o->nattach;
		msg = message_build(&mp, &msglen);
	}
	*msgid = message_id(msg, msglen);
	*size = msglen;
	if (message_smtp_data(msg, msglen, data, datalen, &cause) != 0) {
		log_error("the message cannot be sent: %s", cause);
		goto out;
	}
	rc = 0;
out:
	if (att != NULL) {
		for (size_t i = 0; i < o->nattach; i++)
			free((void *)att[i].data);
		free(att);
	}
	free(cause);
	free(subject);
	free(raw);
	free(msg);
	return rc;
}

/* What send and submit share: the options, the profile, the message. */
struct outgoing {
	struct send_opts	 o;
	struct store		*store;
	struct smtp_settings	 set;
	struct profile		*p;
	const char		*from;
	const char *const	*to;
	size_t			 nto;
	char			*helo;
	char			*data;		/* DATA form */
	size_t			 datalen;
	size_t			 size;		/* the message's own octets */
	char			*msgid;
};

static void
outgoing_clear(struct outgoing *m)
{
	store_close(m->store);
	profile_free(m->p);
	settings_clear(&m->set);
	free(m->o.to);
	free(m->o.attach);
	free(m->helo);
	free(m->data);
	free(m->msgid);
	memset(m, 0, sizeof *m);
}

/*
 * Parses send's options (cmd names the command in messages), reads the
 * profile and builds the message.  The store stays open in m->store.
 * 0, or the exit code after saying why.
 */
static int
outgoing_prepare(const char *db, const char *cmd, int argc, char **argv,
    struct outgoing *m)
{
	struct send_opts *o = &m->o;
	int rc;

	o->to = xcalloc((size_t)argc + 1, sizeof *o->to);
	o->attach = xcalloc((size_t)argc + 1, sizeof *o->attach);
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = NULL;

		if (i + 1 == argc && strncmp(a, "--", 2) == 0)
			return usage("%s: %s needs a value", cmd, a);
		if (strcmp(a, "--profile") == 0)
			slot = &o->profile;
		else if (strcmp(a, "--from") == 0)
			slot = &o->from;
		else if (strcmp(a, "--subject") == 0)
			slot = &o->subject;
		else if (strcmp(a, "--message") == 0)
			slot = &o->message;
		else if (strcmp(a, "--to") == 0)
			slot = &o->to[o->nto++];
		else if (strcmp(a, "--attach") == 0)
			slot = &o->attach[o->nattach++];
		else
			return usage("%s: unexpected '%s'", cmd, a);
		*slot = argv[++i];
	}
	if (o->message != NULL && (o->nattach > 0 || o->subject != NULL))
		return usage("%s: --message takes a whole message; --subject "
		    "and --attach build one", cmd);
	if (o->from != NULL && check_address("--from", o->from) != 0)
		return EX_USAGE;
	for (size_t i = 0; i < o->nto; i++) {
		if (check_address("--to", o->to[i]) != 0)
			return EX_USAGE;
	}
	if ((rc = open_store(db, &m->store)) != 0 ||
	    (rc = load_config(m->store, o->profile, &m->p, &m->set)) != 0)
		return rc;
	m->from = o->from ? o->from : m->p->from;
	m->to = o->nto ? o->to : (const char *const *)&m->p->to;
	m->nto = o->nto ? o->nto : 1;
	if (m->from == NULL)
		return usage("%s: no sender: give --from, or set the "
		    "profile's from (gwadmin set %s from=ADDR)", cmd,
		    m->p->name);
	if (o->nto == 0 && m->p->to == NULL)
		return usage("%s: no recipient: give --to, or set the "
		    "profile's to (gwadmin set %s to=ADDR)", cmd, m->p->name);
	m->helo = gwengine_helo_name(m->p);
	return make_message(o, m->p, &m->set, m->from, m->helo, &m->data,
	    &m->datalen, &m->size, &m->msgid);
}

static int
cmd_send(const char *db, int argc, char **argv)
{
	struct outgoing m = { 0 };
	struct smtp_session *s = NULL;
	struct smtp_result res = { 0 };
	struct smtp_probe pr = { 0 };
	enum smtp_status st;
	char *cause = NULL;
	int rc;

	if ((rc = outgoing_prepare(db, "send", argc, argv, &m)) != 0)
		goto out;
	store_close(m.store);	/* not held open across the network */
	m.store = NULL;
	if (!m.set.enabled) {
		log_error("SMTP is deactivated (gwadmin settings enabled=true)");
		rc = EX_CONFIG;
		goto out;
	}
	if (!m.p->active) {
		log_error("profile '%s' is inactive (gwadmin set %s "
		    "active=true)", m.p->name, m.p->name);
		rc = EX_CONFIG;
		goto out;
	}
	/* The probe record tells the log how far a failed open got. */
	st = smtp_open(m.p, m.helo, &pr, &s, &cause);
	if (st == SMTP_OK)
		st = smtp_send(s, m.from, m.to, m.nto, m.data, m.datalen, &res,
		    &cause);
	if (st == SMTP_OK) {
		log_message(0, m.p, s, &pr, m.size, m.msgid, "sent",
		    res.reply);
		for (size_t i = 0; i < res.nrcpt; i++) {
			if (res.rcpt[i].code / 100 != 2)
				log_error("recipient %s refused: %s", m.to[i],
				    res.rcpt[i].reply);
		}
	} else
		log_message(0, m.p, s, &pr, m.size, m.msgid, "failed",
		    cause);
	rc = gwengine_exit_code(st);
out:
	smtp_close(s);
	smtp_result_clear(&res);
	smtp_probe_clear(&pr);
	outgoing_clear(&m);
	free(cause);
	return rc;
}

/*
 * submit: the message goes into the queue in one transaction, made
 * durable (synchronous=FULL) before the id is printed.  An inactive
 * profile or disabled SMTP does not refuse it: the queue holds it.
 */
static int
cmd_submit(const char *db, int argc, char **argv)
{
	struct outgoing m = { 0 };
	struct store_qmsg q = { 0 };
	char *cause = NULL;
	int rc;

	if ((rc = outgoing_prepare(db, "submit", argc, argv, &m)) != 0)
		goto out;
	q.message_id = m.msgid;
	q.profile = m.p->name;
	q.sender = (char *)m.from;
	q.data = m.data;
	q.datalen = m.datalen;
	q.size = m.size;
	q.submitted = time(NULL);
	q.nrcpt = m.nto;
	q.rcpt = xcalloc(m.nto, sizeof *q.rcpt);
	for (size_t i = 0; i < m.nto; i++)
		q.rcpt[i].addr = (char *)m.to[i];
	rc = store_queue_add(m.store, &q, &cause);
	free(q.rcpt);	/* the strings belong to m */
	if (rc != STORE_OK) {
		rc = gwengine_store_exit(rc, cause);
		goto out;
	}
	printf("%lld\n", q.id);
	rc = fflush(stdout) == 0 ? 0 : EX_IOERR;
	if (!m.set.enabled || !m.p->active)
		log_info("queued %lld; it waits: %s", q.id, !m.set.enabled ?
		    "SMTP is deactivated (gwadmin settings enabled=true)" :
		    "the profile is inactive");
out:
	outgoing_clear(&m);
	return rc;
}

/* queue */

static void
gen_int(yajl_gen g, const char *key, long long value)
{
	yajl_gen_string(g, (const unsigned char *)key, strlen(key));
	yajl_gen_integer(g, value);
}

static void gen_str(yajl_gen g, const char *key, const char *value);
static void gen_bool(yajl_gen g, const char *key, bool value);

static void
gen_time(yajl_gen g, const char *key, time_t t)
{
	char buf[32];

	probe_iso_time(t, buf, sizeof buf);
	gen_str(g, key, t > 0 ? buf : NULL);
}

static void
queue_json(const struct store_qmsg *v, size_t n)
{
	yajl_gen g;
	const unsigned char *buf;
	size_t len;

	if (n == 0) {
		fputs("[]\n", stdout);	/* yajl would print "[\n\n]" */
		return;
	}
	g = yajl_gen_alloc(NULL);
	yajl_gen_config(g, yajl_gen_beautify, 1);
	yajl_gen_config(g, yajl_gen_indent_string, "  ");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < n; i++) {
		const struct store_qmsg *m = &v[i];

		yajl_gen_map_open(g);
		gen_int(g, "id", m->id);
		gen_str(g, "message_id", m->message_id);
		gen_str(g, "profile", m->profile);
		gen_str(g, "from", m->sender);
		gen_str(g, "state", queue_state_name(m->state));
		gen_int(g, "attempts", m->attempts);
		gen_bool(g, "held", m->held);
		gen_time(g, "submitted", m->submitted);
		gen_time(g, "next_attempt", queue_state_final(m->state) ? 0 :
		    m->next_attempt);
		gen_str(g, "last_reply", m->last_reply);
		gen_int(g, "size", (long long)m->size);
		yajl_gen_string(g, (const unsigned char *)"recipients", 10);
		yajl_gen_array_open(g);
		for (size_t j = 0; j < m->nrcpt; j++) {
			const struct store_qrcpt *r = &m->rcpt[j];

			yajl_gen_map_open(g);
			gen_str(g, "address", r->addr);
			gen_str(g, "state", queue_rcpt_state_name(r->state));
			yajl_gen_string(g, (const unsigned char *)"code", 4);
			if (r->code > 0)
				yajl_gen_integer(g, r->code);
			else
				yajl_gen_null(g);
			gen_str(g, "reply", r->reply);
			yajl_gen_map_close(g);
		}
		yajl_gen_array_close(g);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	yajl_gen_get_buf(g, &buf, &len);
	fwrite(buf, 1, len, stdout);
	if (len > 0 && buf[len - 1] != '\n')
		fputc('\n', stdout);
	yajl_gen_free(g);
}

/* The table: one line per message, one indented line per recipient. */
static void
queue_table(const struct store_qmsg *v, size_t n)
{
	char next[32];

	if (n == 0) {
		printf("(the queue is empty)\n");
		return;
	}
	printf("%-8s %-9s %-8s %-20s %-16s %s\n", "ID", "STATE", "ATTEMPTS",
	    "NEXT ATTEMPT", "PROFILE", "LAST REPLY");
	for (size_t i = 0; i < n; i++) {
		const struct store_qmsg *m = &v[i];
		char *reply = text_escape(m->last_reply ? m->last_reply : "-");

		if (queue_state_final(m->state))
			snprintf(next, sizeof next, "-");
		else
			probe_iso_time(m->next_attempt, next, sizeof next);
		printf("%-8lld %-9s %-8d %-20s %-16s %s%s\n", m->id,
		    queue_state_name(m->state), m->attempts, next, m->profile,
		    m->held ? "(held) " : "", reply);
		free(reply);
		for (size_t j = 0; j < m->nrcpt; j++) {
			char *addr = text_escape(m->rcpt[j].addr);

			printf("         %-9s %s\n",
			    queue_rcpt_state_name(m->rcpt[j].state), addr);
			free(addr);
		}
	}
}

static int
cmd_queue(const char *db, int argc, char **argv)
{
	struct store *s = NULL;
	struct store_qmsg *v = NULL;
	size_t n = 0;
	bool json = false;
	char *cause = NULL;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else
			return usage("queue: unexpected '%s'", argv[i]);
	}
	if ((rc = open_store(db, &s)) != 0)
		return rc;
	rc = store_queue_list(s, &v, &n, &cause);
	store_close(s);
	if (rc != STORE_OK)
		return gwengine_store_exit(rc, cause);
	if (json)
		queue_json(v, n);
	else
		queue_table(v, n);
	store_qmsg_free_array(v, n);
	return fflush(stdout) == 0 ? 0 : EX_IOERR;
}

static int
cmd_run(const char *db, int argc, char **argv)
{
	struct runner_opts ro = { 0 };
	char *def = NULL, *cause = NULL;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--once") == 0)
			ro.once = true;
		else if (strcmp(argv[i], "--syslog") == 0)
			ro.syslog = true;
		else if (strcmp(argv[i], "--lease") == 0 && i + 1 < argc) {
			char *end;
			long v;

			errno = 0;
			v = strtol(argv[++i], &end, 10);
			if (errno != 0 || *end != '\0' || end == argv[i] ||
			    v < RUNNER_LEASE_MIN || v > RUNNER_LEASE_MAX)
				return usage("run: --lease takes seconds from "
				    "%d to %d, not '%s'", RUNNER_LEASE_MIN,
				    RUNNER_LEASE_MAX, argv[i]);
			ro.lease = (int)v;
		} else
			return usage("run: unexpected '%s'", argv[i]);
	}
	if (db == NULL && (db = def = store_default_path(&cause)) == NULL)
		return gwengine_store_exit(STORE_ERROR, cause);
	ro.db = db;
	rc = runner_main(&ro);
	free(def);
	return rc;
}

/* probe */

static void
gen_str(yajl_gen g, const char *key, const char *value)
{
	yajl_gen_string(g, (const unsigned char *)key, strlen(key));
	if (value == NULL)
		yajl_gen_null(g);
	else {
		char *safe = text_utf8_valid(value, strlen(value)) ?
		    xstrdup(value) : text_escape(value);

		yajl_gen_string(g, (const unsigned char *)safe, strlen(safe));
		free(safe);
	}
}

static void
gen_bool(yajl_gen g, const char *key, bool value)
{
	yajl_gen_string(g, (const unsigned char *)key, strlen(key));
	yajl_gen_bool(g, value);
}

static void
gen_caps(yajl_gen g, const char *key, const struct smtp_caps *c)
{
	char buf[128], *save = NULL;

	probe_caps_words(c, buf, sizeof buf);
	yajl_gen_string(g, (const unsigned char *)key, strlen(key));
	yajl_gen_array_open(g);
	for (char *w = strtok_r(buf, " ", &save); w != NULL;
	    w = strtok_r(NULL, " ", &save))
		yajl_gen_string(g, (const unsigned char *)w, strlen(w));
	yajl_gen_array_close(g);
}

static void
probe_json(const struct profile *p, const struct smtp_probe *pr,
    enum smtp_status st, const char *cause)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *buf;
	char tbuf[32];
	size_t len;

	yajl_gen_config(g, yajl_gen_beautify, 1);
	yajl_gen_config(g, yajl_gen_indent_string, "  ");
	yajl_gen_map_open(g);
	gen_str(g, "profile", p->name);
	gen_str(g, "server", pr->peer);
	gen_str(g, "greeting", pr->greeting);
	yajl_gen_string(g, (const unsigned char *)"tls", 3);
	if (pr->tls.version == NULL && pr->tls.subject == NULL)
		yajl_gen_null(g);
	else {
		yajl_gen_map_open(g);
		gen_str(g, "version", pr->tls.version);
		gen_str(g, "cipher", pr->tls.cipher);
		gen_str(g, "subject", pr->tls.subject);
		gen_str(g, "issuer", pr->tls.issuer);
		probe_iso_time(pr->tls.not_before, tbuf, sizeof tbuf);
		gen_str(g, "not_before", tbuf);
		probe_iso_time(pr->tls.not_after, tbuf, sizeof tbuf);
		gen_str(g, "not_after", tbuf);
		gen_str(g, "fingerprint", pr->tls.fingerprint);
		gen_bool(g, "verified", pr->tls.verified);
		gen_str(g, "verdict", pr->tls.verdict);
		yajl_gen_map_close(g);
	}
	if (p->tls == PROFILE_TLS_EXPLICIT && pr->tls_started)
		gen_caps(g, "capabilities_before_tls", &pr->caps_before);
	gen_caps(g, "capabilities", &pr->caps);
	gen_str(g, "auth_offered", pr->caps.auth);
	gen_str(g, "auth", profile_auth_name(p->auth));
	gen_bool(g, "auth_tried", pr->auth_tried);
	gen_bool(g, "auth_ok", pr->auth_ok);
	gen_str(g, "auth_reply", pr->auth_reply);
	gen_bool(g, "ok", st == SMTP_OK);
	gen_str(g, "error", st == SMTP_OK ? NULL : cause);
	yajl_gen_map_close(g);
	yajl_gen_get_buf(g, &buf, &len);
	fwrite(buf, 1, len, stdout);	/* beautify ends it with a newline */
	yajl_gen_free(g);
}

static int
cmd_probe(const char *db, int argc, char **argv)
{
	struct smtp_settings set = { 0 };
	struct smtp_probe pr = { 0 };
	struct smtp_session *s = NULL;
	struct profile *p = NULL;
	struct store *store = NULL;
	const char *name = NULL;
	bool json = false;
	char *helo = NULL, *cause = NULL;
	enum smtp_status st;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (argv[i][0] == '-' || name != NULL)
			return usage("probe: unexpected '%s'", argv[i]);
		else
			name = argv[i];
	}
	if (name == NULL)
		return usage("probe: which profile?");
	if ((rc = open_store(db, &store)) != 0)
		return rc;
	rc = load_config(store, name, &p, &set);
	store_close(store);	/* not held open across the network */
	if (rc != 0) {
		settings_clear(&set);
		return rc;
	}
	helo = gwengine_helo_name(p);
	st = smtp_open(p, helo, &pr, &s, &cause);
	if (json)
		probe_json(p, &pr, st, cause);
	else
		probe_report(stdout, p, &pr, st, cause);
	if (st != SMTP_OK)
		log_error("probe of '%s' failed: %s", p->name, cause);
	rc = gwengine_exit_code(st);
	if (fflush(stdout) != 0 && rc == 0)
		rc = EX_IOERR;
	smtp_close(s);
	smtp_probe_clear(&pr);
	profile_free(p);
	settings_clear(&set);
	free(helo);
	free(cause);
	return rc;
}

int
gwengine_main(int argc, char **argv)
{
	const char *db = NULL, *cmd = NULL;
	char **rest = xcalloc((size_t)argc + 1, sizeof *rest);
	bool help = false, version = false;
	int nrest = 0, rc;

	umask(077);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--db") == 0 && i + 1 < argc && *argv[i + 1])
			db = argv[++i];
		else if (strncmp(a, "--db=", 5) == 0 && a[5] != '\0')
			db = a + 5;
		else if (strcmp(a, "--db") == 0 || strcmp(a, "--db=") == 0) {
			free(rest);
			return usage("--db needs a PATH");
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			help = true;
		else if (strcmp(a, "--version") == 0)
			version = true;
		else if (cmd == NULL && a[0] != '-')
			cmd = a;
		else
			rest[nrest++] = argv[i];
	}
	if (version) {
		printf("gwengine %s\n", GWSMTP_VERSION);
		rc = 0;
	} else if (help || cmd == NULL) {
		fputs(usage_text, help ? stdout : stderr);
		rc = help ? 0 : EX_USAGE;
	} else if (strcmp(cmd, "send") == 0)
		rc = cmd_send(db, nrest, rest);
	else if (strcmp(cmd, "submit") == 0)
		rc = cmd_submit(db, nrest, rest);
	else if (strcmp(cmd, "queue") == 0)
		rc = cmd_queue(db, nrest, rest);
	else if (strcmp(cmd, "run") == 0)
		rc = cmd_run(db, nrest, rest);
	else if (strcmp(cmd, "probe") == 0)
		rc = cmd_probe(db, nrest, rest);
	else {
		char *c = text_escape(cmd);

		rc = usage("unknown command '%s'", c);
		free(c);
	}
	free(rest);
	return rc;
}
