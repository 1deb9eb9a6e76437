/*
 * engine/smtp.c: the SMTP client as an explicit state machine.
 *
 * smtp_open() walks CONNECT, [TLS], GREETING, EHLO (or HELO), [STARTTLS,
 * TLS, EHLO], [AUTH] to READY; smtp_send() walks MAIL, RCPT, DATA, BODY
 * back to READY.  Each step sends its command, reads its reply and decides
 * from the code; every failure names the state, the server and its reply.
 * Security rules live here: with starttls=mandatory nothing but EHLO and
 * STARTTLS is ever sent in clear; bytes that arrive between the 220 to
 * STARTTLS and the handshake end the session; PLAIN and LOGIN are never
 * sent over an unencrypted link unless the profile allows it.
 *
 * It does not build messages or choose profiles, and it does no logging:
 * credentials pass through it, so nothing here prints.
 */
#include "engine/smtp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sasl.h"
#include "core/xmalloc.h"
#include "engine/conn.h"

static const char *const state_names[] = {
	[SMTP_STATE_CONNECT] = "CONNECT",
	[SMTP_STATE_TLS] = "TLS handshake",
	[SMTP_STATE_GREETING] = "greeting",
	[SMTP_STATE_EHLO] = "EHLO",
	[SMTP_STATE_HELO] = "HELO",
	[SMTP_STATE_STARTTLS] = "STARTTLS",
	[SMTP_STATE_AUTH] = "AUTH",
	[SMTP_STATE_READY] = "ready",
	[SMTP_STATE_MAIL] = "MAIL",
	[SMTP_STATE_RCPT] = "RCPT",
	[SMTP_STATE_DATA] = "DATA",
	[SMTP_STATE_BODY] = "end of data",
	[SMTP_STATE_RSET] = "RSET",
	[SMTP_STATE_QUIT] = "QUIT",
	[SMTP_STATE_CLOSED] = "closed",
};

/*
 * A message whose data went out without waiting for the reply to it
 * (smtp_send_stream()): the next transaction's commands follow it in the
 * same write, and its reply is the first one read after them.
 */
struct pending {
	bool			 active;	/* the reply is still to come */
	struct smtp_result	*result;
	size_t			 first, n, accepted;
	enum smtp_status	 status;	/* once settled */
	char			*cause;
};

struct smtp_session {
	struct profile		*p;		/* our copy */
	struct conn		*c;
	enum smtp_state		 state;
	char			*host;		/* the host connected to */
	char			*helo;
	struct smtp_caps	 caps;
	struct tls_info		 tls;
	bool			 tls_on;
	const char		*auth_used;
	struct smtp_probe	*probe;		/* NULL unless probing */
	bool			 rset_due;	/* a transaction ended: RSET
						   before the next MAIL */
	struct pending		 pend;		/* data sent, reply not read */
	struct pending		 settled;	/* reply read, not yet told */
	bool			 has_settled;
};

const char *
smtp_state_name(enum smtp_state state)
{
	return state <= SMTP_STATE_CLOSED ? state_names[state] : "?";
}

void
smtp_probe_clear(struct smtp_probe *p)
{
	free(p->peer);
	free(p->greeting);
	tls_info_clear(&p->tls);
	smtp_caps_clear(&p->caps_before);
	smtp_caps_clear(&p->caps);
	free(p->auth_reply);
	memset(p, 0, sizeof *p);
}

void
smtp_result_clear(struct smtp_result *r)
{
	for (size_t i = 0; i < r->nrcpt; i++)
		free(r->rcpt[i].reply);
	free(r->rcpt);
	free(r->reply);
	memset(r, 0, sizeof *r);
}

/* Sets *cause to "STATE with PEER: message" and returns status. */
static enum smtp_status
fail(struct smtp_session *s, enum smtp_status status, char **cause,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum smtp_status
fail(struct smtp_session *s, enum smtp_status status, char **cause,
    const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	*cause = xasprintf("%s with %s: %s", smtp_state_name(s->state),
	    s->c ? conn_peer(s->c) : s->host, msg);
	free(msg);
	return status;
}

/* A broken link or an unreadable reply: the session is over. */
static enum smtp_status
link_failed(struct smtp_session *s, int rc, char *why, char **cause)
{
	enum smtp_status status = rc == CONN_ERR_REPLY ? SMTP_ERR_PROTOCOL :
	    SMTP_ERR_TEMP;

	*cause = xasprintf("%s: %s", smtp_state_name(s->state), why);
	free(why);
	s->state = SMTP_STATE_CLOSED;
	return status;
}

static enum smtp_status
flush(struct smtp_session *s, char **cause)
{
	char *why = NULL;
	int rc;

	if ((rc = conn_flush(s->c, &why)) != CONN_OK)
		return link_failed(s, rc, why, cause);
	return SMTP_OK;
}

static enum smtp_status
send_line(struct smtp_session *s, char **cause, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Queues one command line (CRLF added); flush() sends. */
static enum smtp_status
send_line(struct smtp_session *s, char **cause, const char *fmt, ...)
{
	char *line, *why = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	line = xvasprintf(fmt, ap);
	va_end(ap);
	if (line[strcspn(line, "\r\n")] != '\0') {
		/*
		 * The last guard: the store and the command line are checked
		 * before, but a line break here would smuggle a command.
		 */
		int verb = (int)strcspn(line, " \r\n");
		enum smtp_status st = s->state == SMTP_STATE_MAIL ||
		    s->state == SMTP_STATE_RCPT ? SMTP_ERR_DATA :
		    SMTP_ERR_CONFIG;

		fail(s, st, cause, "refused to send a %.*s command holding a "
		    "line break; the session is closed", verb, line);
		free_secret(line);
		s->state = SMTP_STATE_CLOSED;
		return st;
	}
	rc = conn_printf(s->c, &why, "%s\r\n", line);
	free_secret(line);
	if (rc != CONN_OK)
		return link_failed(s, rc, why, cause);
	return SMTP_OK;
}

static enum smtp_status
read_reply(struct smtp_session *s, struct smtp_reply *r, char **cause)
{
	char *why = NULL;
	int rc;

	if ((rc = conn_read_reply(s->c, r, &why)) != CONN_OK) {
		if (rc == CONN_ERR_REPLY && s->state == SMTP_STATE_AUTH) {
			/* It quotes the reply, which may echo the secret. */
			free(why);
			why = xasprintf("%s sent an invalid reply (not shown: "
			    "it answers AUTH)", conn_peer(s->c));
		}
		return link_failed(s, rc, why, cause);
	}
	return SMTP_OK;
}

/*
 * A reply as errors, logs and probe show it: in full, except the answers
 * to AUTH and its continuation lines, which a server may use to echo the
 * credentials: of those only the codes.  Caller frees.
 */
static char *
reply_text(const struct smtp_session *s, const struct smtp_reply *r)
{
	return s->state == SMTP_STATE_AUTH ? smtp_reply_status(r) :
	    smtp_reply_summary(r);
}

/* Sends a command and reads its reply. */
static enum smtp_status
command(struct smtp_session *s, struct smtp_reply *r, char **cause,
    const char *line)
{
	enum smtp_status st;

	if ((st = send_line(s, cause, "%s", line)) != SMTP_OK ||
	    (st = flush(s, cause)) != SMTP_OK)
		return st;
	return read_reply(s, r, cause);
}

/* TEMP for 4xx, else the given status, with the server's words. */
static enum smtp_status
refused(struct smtp_session *s, const struct smtp_reply *r,
    enum smtp_status on5xx, char **cause, const char *what)
{
	char *text = reply_text(s, r);
	enum smtp_status st;

	if (r->code >= 400 && r->code < 500)
		st = SMTP_ERR_TEMP;
	else if (r->code >= 500)
		st = on5xx;
	else
		st = SMTP_ERR_PROTOCOL;
	fail(s, st, cause, "%s: %s", what, text);
	free(text);
	return st;
}

static enum smtp_status
start_tls(struct smtp_session *s, char **cause)
{
	struct tls_params tp = {
		.host = s->host,
		.verify = s->p->verify,
		.ca_file = s->p->ca_file,
		.fingerprint = s->p->fingerprint,
		.tls13_only = s->p->tls_min == PROFILE_TLS_MIN_1_3,
		.timeout = s->p->timeout,
	};
	char *why = NULL;
	int rc;

	s->state = SMTP_STATE_TLS;
	tls_info_clear(&s->tls);
	rc = conn_start_tls(s->c, &tp, &s->tls, &why);
	if (s->probe != NULL) {
		tls_info_clear(&s->probe->tls);
		s->probe->tls = (struct tls_info){
			.version = s->tls.version ? xstrdup(s->tls.version) : NULL,
			.cipher = s->tls.cipher ? xstrdup(s->tls.cipher) : NULL,
			.subject = s->tls.subject ? xstrdup(s->tls.subject) : NULL,
			.issuer = s->tls.issuer ? xstrdup(s->tls.issuer) : NULL,
			.not_before = s->tls.not_before,
			.not_after = s->tls.not_after,
			.fingerprint = s->tls.fingerprint ?
			    xstrdup(s->tls.fingerprint) : NULL,
			.verified = s->tls.verified,
			.verdict = s->tls.verdict ? xstrdup(s->tls.verdict) : NULL,
		};
		s->probe->tls_started = rc == CONN_OK;
	}
	if (rc != CONN_OK) {
		*cause = why;	/* it names the host and the step already */
		s->state = SMTP_STATE_CLOSED;
		return rc == CONN_ERR_CONFIG ? SMTP_ERR_CONFIG :
		    SMTP_ERR_UNAVAILABLE;
	}
	s->tls_on = true;
	return SMTP_OK;
}

/* EHLO, falling back to HELO when the server does not know EHLO. */
static enum smtp_status
hello(struct smtp_session *s, char **cause)
{
	struct smtp_reply r = { 0 };
	enum smtp_status st;
	char *line;

	s->state = SMTP_STATE_EHLO;
	smtp_caps_clear(&s->caps);
	line = xasprintf("EHLO %s", s->helo);
	st = command(s, &r, cause, line);
	free(line);
	if (st != SMTP_OK)
		return st;
	if (r.code == 250) {
		smtp_caps_parse(&r, &s->caps);
		smtp_reply_clear(&r);
		return SMTP_OK;
	}
	if (r.code < 500 || r.code > 504) {
		st = refused(s, &r, SMTP_ERR_UNAVAILABLE, cause, "EHLO refused");
		smtp_reply_clear(&r);
		return st;
	}
	smtp_reply_clear(&r);
	s->state = SMTP_STATE_HELO;
	line = xasprintf("HELO %s", s->helo);
	st = command(s, &r, cause, line);
	free(line);
	if (st != SMTP_OK)
		return st;
	if (r.code != 250)
		st = refused(s, &r, SMTP_ERR_UNAVAILABLE, cause, "HELO refused");
	smtp_reply_clear(&r);
	return st;
}

static enum smtp_status
starttls(struct smtp_session *s, char **cause)
{
	bool mandatory = s->p->starttls == PROFILE_STARTTLS_MANDATORY;
	struct smtp_reply r = { 0 };
	enum smtp_status st;
	size_t extra;

	s->state = SMTP_STATE_STARTTLS;
	if (!s->caps.starttls) {
		if (!mandatory)
			return SMTP_OK;
		return fail(s, SMTP_ERR_UNAVAILABLE, cause, "the server does "
		    "not offer STARTTLS and the profile requires it "
		    "(starttls=mandatory); nothing was sent in clear");
	}
	if ((st = command(s, &r, cause, "STARTTLS")) != SMTP_OK)
		return st;
	if (r.code != 220) {
		if (r.code >= 400 && !mandatory) {
			/* RFC 3207 4.1: go on in clear when policy allows. */
			smtp_reply_clear(&r);
			return SMTP_OK;
		}
		st = r.code >= 400 ? SMTP_ERR_UNAVAILABLE : SMTP_ERR_PROTOCOL;
		{
			char *text = smtp_reply_summary(&r);

			fail(s, st, cause, "STARTTLS refused (%s); nothing "
			    "more was sent", text);
			free(text);
		}
		smtp_reply_clear(&r);
		s->state = SMTP_STATE_CLOSED;
		return st;
	}
	smtp_reply_clear(&r);
	/*
	 * Anything already received was sent before the handshake and would
	 * be read as if it came over TLS (CVE-2011-0411): refuse it.
	 */
	if ((extra = conn_unread(s->c)) > 0) {
		fail(s, SMTP_ERR_PROTOCOL, cause, "%zu byte%s arrived after "
		    "the 220 to STARTTLS and before the TLS handshake "
		    "(response injection); session aborted", extra,
		    extra == 1 ? "" : "s");
		s->state = SMTP_STATE_CLOSED;
		return SMTP_ERR_PROTOCOL;
	}
	if ((st = start_tls(s, cause)) != SMTP_OK)
		return st;
	/* What was learnt in clear is forgotten (RFC 3207 4.2). */
	if (s->probe != NULL) {
		smtp_caps_clear(&s->probe->caps_before);
		s->probe->caps_before = s->caps;
		memset(&s->caps, 0, sizeof s->caps);
	}
	return hello(s, cause);
}

static bool
offered(const struct smtp_caps *c, enum profile_auth auth)
{
	switch (auth) {
	case PROFILE_AUTH_PLAIN:
		return c->auth_plain;
	case PROFILE_AUTH_LOGIN:
		return c->auth_login;
	case PROFILE_AUTH_ANONYMOUS:
		return c->auth_anonymous;
	case PROFILE_AUTH_NONE:
		break;
	}
	return true;
}

/* Sends a SASL response line and wipes it. */
static enum smtp_status
sasl_step(struct smtp_session *s, struct smtp_reply *r, char **cause,
    const char *prefix, char *response)
{
	enum smtp_status st;

	st = send_line(s, cause, "%s%s", prefix, response);
	free_secret(response);
	if (st == SMTP_OK)
		st = flush(s, cause);
	if (st == SMTP_OK)
		st = read_reply(s, r, cause);
	return st;
}

static enum smtp_status
authenticate(struct smtp_session *s, char **cause)
{
	const struct profile *p = s->p;
	const char *mech = profile_auth_name(p->auth);
	struct smtp_reply r = { 0 };
	enum smtp_status st;
	char *upper;

	s->state = SMTP_STATE_AUTH;
	if ((p->auth == PROFILE_AUTH_PLAIN || p->auth == PROFILE_AUTH_LOGIN) &&
	    !s->tls_on && !p->allow_plain_auth_without_tls)
		return fail(s, SMTP_ERR_CONFIG, cause, "the link is not "
		    "encrypted and %s would send the password in clear "
		    "(allow_plain_auth_without_tls is false); nothing was "
		    "sent", mech);
	if (!s->caps.esmtp || s->caps.auth == NULL || *s->caps.auth == '\0')
		return fail(s, SMTP_ERR_AUTH, cause, "the server offers no "
		    "AUTH, and the profile wants %s", mech);
	if (!offered(&s->caps, p->auth))
		return fail(s, SMTP_ERR_AUTH, cause, "the server does not "
		    "offer AUTH %s (it offers: %s)", mech, s->caps.auth);
	if (s->probe != NULL)
		s->probe->auth_tried = true;

	switch (p->auth) {
	case PROFILE_AUTH_PLAIN:
		st = sasl_step(s, &r, cause, "AUTH PLAIN ",
		    sasl_plain_response(p->username, p->password));
		break;
	case PROFILE_AUTH_ANONYMOUS:
		st = sasl_step(s, &r, cause, "AUTH ANONYMOUS ",
		    sasl_anonymous_response(p->trace ? p->trace :
		    p->from ? p->from : ""));
		break;
	case PROFILE_AUTH_LOGIN:
		st = command(s, &r, cause, "AUTH LOGIN");
		/* Two 334 prompts; their text is not relied on. */
		for (int step = 0; st == SMTP_OK && step < 2; step++) {
			if (r.code != 334)
				break;
			smtp_reply_clear(&r);
			st = sasl_step(s, &r, cause, "", sasl_login_response(
			    step == 0 ? p->username : p->password));
		}
		break;
	default:
		return SMTP_OK;
	}
	if (st != SMTP_OK)
		return st;
	if (s->probe != NULL) {
		free(s->probe->auth_reply);
		s->probe->auth_reply = reply_text(s, &r);
		s->probe->auth_ok = r.code == 235;
	}
	if (r.code == 334) {
		/* A challenge we did not expect: cancel (RFC 4954 4). */
		smtp_reply_clear(&r);
		if ((st = command(s, &r, cause, "*")) != SMTP_OK)
			return st;
		st = refused(s, &r, SMTP_ERR_AUTH, cause, "unexpected "
		    "challenge; AUTH cancelled");
		smtp_reply_clear(&r);
		return st == SMTP_ERR_TEMP ? st : SMTP_ERR_AUTH;
	}
	if (r.code != 235) {
		upper = xasprintf("AUTH %s refused", mech);
		st = refused(s, &r, SMTP_ERR_AUTH, cause, upper);
		free(upper);
		smtp_reply_clear(&r);
		return st;
	}
	smtp_reply_clear(&r);
	s->auth_used = mech;
	return SMTP_OK;
}

/* Parses "host", "host:port", "[v6]" or "[v6]:port" (validated). */
static void
split_host(const char *item, int def_port, char **host, int *port)
{
	const char *colon;

	*port = def_port;
	if (item[0] == '[') {
		const char *end = strchr(item, ']');

		*host = xstrndup(item + 1, (size_t)(end - item - 1));
		if (end[1] == ':')
			*port = atoi(end + 2);
		return;
	}
	colon = strchr(item, ':');
	*host = colon ? xstrndup(item, (size_t)(colon - item)) : xstrdup(item);
	if (colon != NULL)
		*port = atoi(colon + 1);
}

static enum smtp_status
connect_any(struct smtp_session *s, char **cause)
{
	char *tried = xstrdup(""), *why = NULL;
	int port;

	for (size_t i = 0; i <= s->p->alt_hosts_n; i++) {
		char *host, *next;

		if (i == 0) {
			host = xstrdup(s->p->host);
			port = s->p->port;
		} else
			split_host(s->p->alt_hosts[i - 1], s->p->port, &host,
			    &port);
		if (conn_open(host, port, s->p->timeout, &s->c, &why) ==
		    CONN_OK) {
			free(s->host);
			s->host = host;
			free(tried);
			return SMTP_OK;
		}
		next = xasprintf("%s%s%s", tried, *tried ? "; " : "", why);
		free(why);
		why = NULL;
		free(host);
		free(tried);
		tried = next;
	}
	*cause = tried;
	return SMTP_ERR_UNAVAILABLE;
}

enum smtp_status
smtp_open(const struct profile *p, const char *helo, struct smtp_probe *probe,
    struct smtp_session **out, char **cause)
{
	struct smtp_session *s = xcalloc(1, sizeof *s);
	struct smtp_reply r = { 0 };
	enum smtp_status st;

	s->p = profile_dup(p);
	s->helo = xstrdup(helo);
	s->probe = probe;
	s->state = SMTP_STATE_CONNECT;
	s->host = xstrdup(p->host);
	/* The name connected to is kept: TLS verifies against it. */
	if ((st = connect_any(s, cause)) != SMTP_OK)
		goto fail;
	if (probe != NULL)
		probe->peer = xstrdup(conn_peer(s->c));
	if (p->tls == PROFILE_TLS_IMPLICIT &&
	    (st = start_tls(s, cause)) != SMTP_OK)
		goto fail;

	s->state = SMTP_STATE_GREETING;
	if ((st = read_reply(s, &r, cause)) != SMTP_OK)
		goto fail;
	if (probe != NULL)
		probe->greeting = smtp_reply_summary(&r);
	if (r.code != 220) {
		st = refused(s, &r, SMTP_ERR_UNAVAILABLE, cause,
		    "the server refused the session");
		smtp_reply_clear(&r);
		goto fail;
	}
	smtp_reply_clear(&r);
	if ((st = hello(s, cause)) != SMTP_OK)
		goto fail;
	if (p->tls == PROFILE_TLS_EXPLICIT &&
	    (st = starttls(s, cause)) != SMTP_OK)
		goto fail;
	if (probe != NULL) {
		smtp_caps_clear(&probe->caps);
		probe->caps = s->caps;
		probe->caps.auth = s->caps.auth ? xstrdup(s->caps.auth) : NULL;
	}
	if (p->auth != PROFILE_AUTH_NONE &&
	    (st = authenticate(s, cause)) != SMTP_OK)
		goto fail;
	s->state = SMTP_STATE_READY;
	*out = s;
	return SMTP_OK;

fail:
	if (s->c != NULL && s->state != SMTP_STATE_CLOSED &&
	    st != SMTP_ERR_PROTOCOL) {
		/* A polite end where the conversation is still in step. */
		s->state = SMTP_STATE_CLOSED;
		if (conn_printf(s->c, &(char *){ NULL }, "QUIT\r\n") == CONN_OK)
			(void)conn_flush(s->c, &(char *){ NULL });
	}
	s->state = SMTP_STATE_CLOSED;
	smtp_close(s);
	*out = NULL;
	return st;
}

static bool
needs_utf8(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x80)
			return true;
	}
	return false;
}

/* Whether the data holds 8-bit bytes (for BODY=8BITMIME). */
static bool
has_8bit(const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)data[i] >= 0x80)
			return true;
	}
	return false;
}

/* Reads the reply to a RSET already sent; anything but 250 ends it all. */
static enum smtp_status
reset_reply(struct smtp_session *s, char **cause)
{
	struct smtp_reply r = { 0 };
	enum smtp_status st;

	if (!s->caps.pipelining && (st = flush(s, cause)) != SMTP_OK)
		return st;
	if ((st = read_reply(s, &r, cause)) != SMTP_OK)
		return st;
	if (r.code != 250) {
		st = refused(s, &r, SMTP_ERR_PROTOCOL, cause, "RSET refused");
		s->state = SMTP_STATE_CLOSED;
	}
	smtp_reply_clear(&r);
	return st;
}

/*
 * A reply that neither refuses (4xx, 5xx) nor does what the command asked
 * (what the command expects): the server is out of step, so nothing it
 * said settles a recipient, and the session ends.
 */
static enum smtp_status
out_of_step(struct smtp_session *s, const struct smtp_reply *r,
    const char *expected, char **cause)
{
	char *text = reply_text(s, r);

	fail(s, SMTP_ERR_PROTOCOL, cause, "the server answered %s where %s "
	    "or a refusal belongs; the message was not delivered", text,
	    expected);
	free(text);
	s->state = SMTP_STATE_CLOSED;
	return SMTP_ERR_PROTOCOL;
}

/*
 * The reply to the end of the data settles every recipient of the
 * transaction that the server took, and only that reply does.  Leaves
 * the reply in result.
 */
static enum smtp_status
finish_data(struct smtp_session *s, const struct smtp_reply *r,
    struct smtp_result *result, size_t first, size_t n, size_t accepted,
    char **cause)
{
	if (r->code / 100 == 3)
		return out_of_step(s, r, "2xx", cause);
	free(result->reply);
	result->code = r->code;
	result->reply = smtp_reply_summary(r);
	for (size_t i = 0; i < n; i++) {
		if (result->rcpt[first + i].code / 100 == 2)
			result->rcpt[first + i].final = r->code;
	}
	if (r->code / 100 != 2)
		return refused(s, r, SMTP_ERR_PERM, cause, "message refused");
	result->accepted += accepted;
	return SMTP_OK;
}

/*
 * Reads the reply to the pending message's data: its outcome moves to
 * s->settled until smtp_send_stream() tells it.
 */
static enum smtp_status
settle_pending(struct smtp_session *s)
{
	struct pending *pd = &s->settled;
	enum smtp_state state = s->state;
	struct smtp_reply r = { 0 };
	enum smtp_status st;

	*pd = s->pend;
	memset(&s->pend, 0, sizeof s->pend);
	s->has_settled = true;
	s->state = SMTP_STATE_BODY;
	if ((st = read_reply(s, &r, &pd->cause)) == SMTP_OK) {
		st = finish_data(s, &r, pd->result, pd->first, pd->n,
		    pd->accepted, &pd->cause);
		if (s->state != SMTP_STATE_CLOSED)
			s->state = state;
	}
	smtp_reply_clear(&r);
	pd->status = st;
	return st;
}

/* The session broke with a message pending: its outcome is unknown. */
static void
pending_broken(struct smtp_session *s, const char *why)
{
	if (!s->pend.active)
		return;
	s->settled = s->pend;
	memset(&s->pend, 0, sizeof s->pend);
	s->has_settled = true;
	s->settled.status = SMTP_ERR_TEMP;
	s->settled.cause = xasprintf("end of data: no reply came (%s)", why);
}

/*
 * One transaction for rcpt[0..n), recording into result->rcpt + first.
 * With defer (PIPELINING only), the data is queued and the reply to it is
 * left pending: *deferred says so, and the next transaction reads it.
 */
static enum smtp_status
transaction(struct smtp_session *s, const char *from, const char *const *rcpt,
    size_t n, size_t first, const char *data, size_t len, bool utf8,
    bool defer, bool *deferred, struct smtp_result *result, char **cause)
{
	bool pipelining = s->caps.pipelining, rset = false;
	struct smtp_reply r = { 0 };
	enum smtp_status st;
	size_t accepted = 0, tempfail = 0;
	char *size = NULL, *first_refusal = NULL;

	if (s->rset_due) {
		/*
		 * RSET between messages; with PIPELINING it leads the group
		 * and costs no round trip.
		 */
		s->rset_due = false;
		rset = pipelining;
		s->state = SMTP_STATE_RSET;
		if ((st = send_line(s, cause, "RSET")) != SMTP_OK)
			return st;
		if (!pipelining && (st = reset_reply(s, cause)) != SMTP_OK)
			return st;
	}
	s->state = SMTP_STATE_MAIL;
	if (s->caps.size)
		size = xasprintf(" SIZE=%zu", len);
	st = send_line(s, cause, "MAIL FROM:<%s>%s%s%s", from,
	    size ? size : "", utf8 ? " SMTPUTF8" : "",
	    s->caps.eightbitmime && has_8bit(data, len) ?
	    " BODY=8BITMIME" : "");
	free(size);
	if (st != SMTP_OK)
		return st;
	if (!pipelining) {
		if ((st = flush(s, cause)) != SMTP_OK ||
		    (st = read_reply(s, &r, cause)) != SMTP_OK)
			return st;
		if (r.code / 100 != 2)
			goto mail_refused;
		smtp_reply_clear(&r);
	}
	for (size_t i = 0; i < n; i++) {
		if ((st = send_line(s, cause, "RCPT TO:<%s>", rcpt[i])) !=
		    SMTP_OK)
			return st;
		if (!pipelining && ((st = flush(s, cause)) != SMTP_OK ||
		    (st = read_reply(s, &r, cause)) != SMTP_OK))
			return st;
		if (!pipelining) {
			s->state = SMTP_STATE_RCPT;
			result->rcpt[first + i].code = r.code;
			result->rcpt[first + i].reply = smtp_reply_summary(&r);
			smtp_reply_clear(&r);
		}
	}
	if (pipelining || n > 0) {
		/* RFC 2920: DATA ends the pipelined group. */
		if (!pipelining)
			for (size_t i = 0; i < n; i++)
				accepted += result->rcpt[first + i].code / 100
				    == 2;
		if (pipelining || accepted > 0) {
			if ((st = send_line(s, cause, "DATA")) != SMTP_OK)
				return st;
		}
		if ((st = flush(s, cause)) != SMTP_OK)
			return st;
	}
	if (pipelining) {
		if (s->pend.active) {
			/* The previous message's reply comes first. */
			if (settle_pending(s) != SMTP_OK && !smtp_usable(s)) {
				*cause = xstrdup(s->settled.cause);
				return SMTP_ERR_TEMP;
			}
		}
		if (rset) {
			s->state = SMTP_STATE_RSET;
			if ((st = reset_reply(s, cause)) != SMTP_OK)
				return st;
			s->state = SMTP_STATE_MAIL;
		}
		if ((st = read_reply(s, &r, cause)) != SMTP_OK)
			return st;
		if (r.code / 100 != 2) {
			/* Drain the RCPT and DATA replies to stay in step. */
			for (size_t i = 0; i <= n && st == SMTP_OK; i++) {
				struct smtp_reply skip = { 0 };

				st = read_reply(s, &skip, cause);
				if (st == SMTP_OK && i == n && skip.code == 354) {
					smtp_reply_clear(&skip);
					if ((st = send_line(s, cause, ".")) ==
					    SMTP_OK && (st = flush(s, cause)) ==
					    SMTP_OK)
						st = read_reply(s, &skip, cause);
				}
				smtp_reply_clear(&skip);
			}
			if (st != SMTP_OK) {
				smtp_reply_clear(&r);
				return st;
			}
			goto mail_refused;
		}
		smtp_reply_clear(&r);
		s->state = SMTP_STATE_RCPT;
		for (size_t i = 0; i < n; i++) {
			if ((st = read_reply(s, &r, cause)) != SMTP_OK)
				return st;
			result->rcpt[first + i].code = r.code;
			result->rcpt[first + i].reply = smtp_reply_summary(&r);
			accepted += r.code / 100 == 2;
			smtp_reply_clear(&r);
		}
	}
	for (size_t i = 0; i < n; i++) {
		int code = result->rcpt[first + i].code;

		if (code / 100 != 2) {
			result->rcpt[first + i].final = code;
			if (first_refusal == NULL)
				first_refusal = result->rcpt[first + i].reply;
		}
		tempfail += code / 100 == 4;
	}
	s->state = SMTP_STATE_DATA;
	if (pipelining || accepted > 0) {
		if ((st = read_reply(s, &r, cause)) != SMTP_OK)
			return st;
	}
	if (accepted == 0) {
		if (pipelining && r.code == 354) {
			/* The server wants data nobody will get: end it. */
			smtp_reply_clear(&r);
			if ((st = send_line(s, cause, ".")) != SMTP_OK ||
			    (st = flush(s, cause)) != SMTP_OK ||
			    (st = read_reply(s, &r, cause)) != SMTP_OK)
				return st;
		}
		smtp_reply_clear(&r);
		s->state = SMTP_STATE_RCPT;
		return fail(s, tempfail > 0 ? SMTP_ERR_TEMP : SMTP_ERR_PERM,
		    cause, "every recipient was refused (%s)",
		    first_refusal ? first_refusal : "no recipient");
	}
	if (r.code != 354) {
		if (r.code < 400) {
			st = out_of_step(s, &r, "354", cause);
			smtp_reply_clear(&r);
			return st;
		}
		/* A refusal settles the recipients taken, as at the end. */
		for (size_t i = 0; i < n; i++) {
			if (result->rcpt[first + i].code / 100 == 2)
				result->rcpt[first + i].final = r.code;
		}
		st = refused(s, &r, SMTP_ERR_PERM, cause, "DATA refused");
		smtp_reply_clear(&r);
		return st;
	}
	smtp_reply_clear(&r);

	s->state = SMTP_STATE_BODY;
	{
		char *why = NULL;
		int rc = conn_write(s->c, data, len, &why);

		if (rc != CONN_OK)
			return link_failed(s, rc, why, cause);
	}
	if (defer && pipelining) {
		/* Not flushed: the next message's commands go with it. */
		s->pend = (struct pending){ .active = true, .result = result,
		    .first = first, .n = n, .accepted = accepted };
		*deferred = true;
		s->state = SMTP_STATE_READY;
		s->rset_due = true;
		return SMTP_OK;
	}
	if ((st = flush(s, cause)) != SMTP_OK ||
	    (st = read_reply(s, &r, cause)) != SMTP_OK)
		return st;
	st = finish_data(s, &r, result, first, n, accepted, cause);
	smtp_reply_clear(&r);
	if (s->state != SMTP_STATE_CLOSED)
		s->state = SMTP_STATE_READY;
	s->rset_due = true;
	return st;

mail_refused:
	st = refused(s, &r, SMTP_ERR_PERM, cause, "sender refused");
	free(result->reply);
	result->code = r.code;
	result->reply = smtp_reply_summary(&r);
	smtp_reply_clear(&r);
	return st;
}

/* smtp_send(), or with defer the last transaction's reply left pending. */
static enum smtp_status
send_one(struct smtp_session *s, const char *from, const char *const *rcpt,
    size_t nrcpt, const char *data, size_t len, bool defer, bool *deferred,
    struct smtp_result *result, char **cause)
{
	enum smtp_status st = SMTP_OK;
	bool utf8 = needs_utf8(from);

	memset(result, 0, sizeof *result);
	if (s->state != SMTP_STATE_READY)
		return fail(s, SMTP_ERR_PROTOCOL, cause, "the session is not "
		    "ready for a message");
	if (nrcpt == 0)
		return fail(s, SMTP_ERR_DATA, cause, "no recipient");
	for (size_t i = 0; i < nrcpt; i++)
		utf8 = utf8 || needs_utf8(rcpt[i]);
	if (utf8 && !s->caps.smtputf8)
		return fail(s, SMTP_ERR_DATA, cause, "an address is not ASCII "
		    "and the server does not offer SMTPUTF8");
	if (s->caps.size && s->caps.size_max > 0 && len > s->caps.size_max)
		return fail(s, SMTP_ERR_DATA, cause, "the message (%zu bytes) "
		    "is larger than the server takes (SIZE %lu)", len,
		    s->caps.size_max);
	result->rcpt = xcalloc(nrcpt, sizeof *result->rcpt);
	result->nrcpt = nrcpt;
	for (size_t first = 0; first < nrcpt; first += SMTP_RCPT_MAX) {
		size_t n = nrcpt - first > SMTP_RCPT_MAX ? SMTP_RCPT_MAX :
		    nrcpt - first;

		st = transaction(s, from, rcpt + first, n, first, data, len,
		    utf8, defer && first + n == nrcpt, deferred, result, cause);
		if (st != SMTP_OK)
			break;	/* result says who already has it */
	}
	return st;
}

enum smtp_status
smtp_send(struct smtp_session *s, const char *from, const char *const *rcpt,
    size_t nrcpt, const char *data, size_t len, struct smtp_result *result,
    char **cause)
{
	bool deferred = false;

	return send_one(s, from, rcpt, nrcpt, data, len, false, &deferred,
	    result, cause);
}

/* Hands a settled message's outcome to done() and forgets it. */
static void
report_settled(struct smtp_session *s, const struct smtp_stream *ops,
    void *arg, size_t i)
{
	struct pending *pd = &s->settled;

	ops->done(arg, i, pd->status, pd->result, pd->cause);
	smtp_result_clear(pd->result);
	free(pd->cause);
	memset(pd, 0, sizeof *pd);
	s->has_settled = false;
}

/* Flushes and reads the pending message's reply, or marks it lost. */
static void
drain_pending(struct smtp_session *s, const char *why)
{
	char *err = NULL;

	if (!s->pend.active)
		return;
	if (!smtp_usable(s))
		pending_broken(s, why ? why : "the session ended");
	else if (conn_flush(s->c, &err) != CONN_OK) {
		s->state = SMTP_STATE_CLOSED;
		pending_broken(s, err);
	} else
		settle_pending(s);
	free(err);
}

size_t
smtp_send_stream(struct smtp_session *s, const struct smtp_stream *ops,
    void *arg)
{
	struct smtp_result res[2] = { 0 };
	struct smtp_message m;
	size_t i, prev = 0;
	int slot = 0;

	for (i = 0;; i++) {
		enum smtp_status st;
		bool deferred = false;
		char *cause = NULL;

		if (smtp_usable(s) && s->state != SMTP_STATE_READY &&
		    !s->pend.active) {
			/* After a refusal: RSET, as smtp_reset() does. */
			if (smtp_reset(s, &cause) != SMTP_OK) {
				free(cause);
				break;
			}
		}
		if (!smtp_usable(s))
			break;
		memset(&m, 0, sizeof m);
		if (!ops->next(arg, i, &m))
			break;
		st = send_one(s, m.from, m.rcpt, m.nrcpt, m.data, m.len,
		    s->caps.pipelining, &deferred, &res[slot], &cause);
		/* One that did not reach its data: the last one first. */
		if (!deferred)
			drain_pending(s, cause);
		if (s->has_settled)
			report_settled(s, ops, arg, prev);
		if (deferred) {
			prev = i;
			slot = 1 - slot;
		} else {
			ops->done(arg, i, st, &res[slot], cause);
			smtp_result_clear(&res[slot]);
		}
		free(cause);
	}
	drain_pending(s, NULL);
	if (s->has_settled)
		report_settled(s, ops, arg, prev);
	return i;
}

enum smtp_status
smtp_reset(struct smtp_session *s, char **cause)
{
	struct smtp_reply r = { 0 };
	enum smtp_status st;

	if (!smtp_usable(s))
		return fail(s, SMTP_ERR_TEMP, cause, "the session has ended");
	s->state = SMTP_STATE_RSET;
	s->rset_due = false;
	if ((st = command(s, &r, cause, "RSET")) != SMTP_OK)
		return st;
	if (r.code != 250) {
		st = refused(s, &r, SMTP_ERR_PROTOCOL, cause, "RSET refused");
		s->state = SMTP_STATE_CLOSED;
	} else
		s->state = SMTP_STATE_READY;
	smtp_reply_clear(&r);
	return st;
}

bool
smtp_usable(const struct smtp_session *s)
{
	return s != NULL && s->c != NULL && s->state != SMTP_STATE_CLOSED;
}

const char *
smtp_peer(const struct smtp_session *s)
{
	return s->c ? conn_peer(s->c) : s->host;
}

const char *
smtp_tls_version(const struct smtp_session *s)
{
	return s->tls_on && s->tls.version ? s->tls.version : "none";
}

const char *
smtp_auth_used(const struct smtp_session *s)
{
	return s->auth_used ? s->auth_used : "none";
}

void
smtp_close(struct smtp_session *s)
{
	if (s == NULL)
		return;
	if (smtp_usable(s)) {
		struct smtp_reply r = { 0 };
		char *why = NULL;

		s->state = SMTP_STATE_QUIT;
		if (command(s, &r, &why, "QUIT") == SMTP_OK)
			smtp_reply_clear(&r);
		free(why);
	}
	conn_close(s->c);
	smtp_caps_clear(&s->caps);
	tls_info_clear(&s->tls);
	profile_free(s->p);
	free(s->host);
	free(s->helo);
	free(s);
}
