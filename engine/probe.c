/*
 * engine/probe.c: the text form of a probe report (see probe.h).  The JSON
 * form stays in gwengine.c, its only user.
 */
#include "engine/probe.h"

#include <stdlib.h>

#include "core/profile.h"
#include "core/text.h"

void
probe_caps_words(const struct smtp_caps *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s%s%s%s", c->starttls ? " STARTTLS" : "",
	    c->pipelining ? " PIPELINING" : "", c->size ? " SIZE" : "",
	    c->eightbitmime ? " 8BITMIME" : "", c->smtputf8 ? " SMTPUTF8" : "",
	    c->dsn ? " DSN" : "", c->auth ? " AUTH" : "");
}

void
probe_iso_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (t <= 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "?");
}

static void
print_time(FILE *fp, const char *label, time_t t)
{
	char buf[32];

	probe_iso_time(t, buf, sizeof buf);
	fprintf(fp, "%-22s %s\n", label, buf);
}

static void
print_text(FILE *fp, const char *label, const char *value)
{
	char *v = text_escape(value ? value : "-");

	fprintf(fp, "%-22s %s\n", label, v);
	free(v);
}

void
probe_report(FILE *fp, const struct profile *p, const struct smtp_probe *pr,
    enum smtp_status st, const char *cause)
{
	char caps[128];

	print_text(fp, "profile", p->name);
	print_text(fp, "server", pr->peer);
	print_text(fp, "greeting", pr->greeting);
	if (p->tls == PROFILE_TLS_EXPLICIT && pr->tls_started) {
		probe_caps_words(&pr->caps_before, caps, sizeof caps);
		print_text(fp, "capabilities (clear)", *caps ? caps + 1 : "-");
	}
	if (pr->tls.version != NULL || pr->tls.subject != NULL) {
		print_text(fp, "tls", pr->tls.version);
		print_text(fp, "cipher", pr->tls.cipher);
		print_text(fp, "certificate subject", pr->tls.subject);
		print_text(fp, "certificate issuer", pr->tls.issuer);
		print_time(fp, "valid from", pr->tls.not_before);
		print_time(fp, "valid until", pr->tls.not_after);
		print_text(fp, "fingerprint", pr->tls.fingerprint);
		print_text(fp, "verification", pr->tls.verdict);
	} else
		print_text(fp, "tls", "none");
	probe_caps_words(&pr->caps, caps, sizeof caps);
	print_text(fp, "capabilities", *caps ? caps + 1 : "-");
	print_text(fp, "auth offered", pr->caps.auth ? pr->caps.auth : "none");
	if (pr->auth_tried)
		fprintf(fp, "%-22s %s %s (%s)\n", "authentication",
		    profile_auth_name(p->auth), pr->auth_ok ? "accepted" :
		    "refused", pr->auth_reply ? pr->auth_reply : "-");
	else
		print_text(fp, "authentication", p->auth == PROFILE_AUTH_NONE ?
		    "none configured" : "not tried");
	print_text(fp, "result", st == SMTP_OK ? "ok" : cause);
}

