/*
 * engine/log.c: gwengine's log lines (engine/log.h).
 */
#include "engine/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "core/profile.h"
#include "core/text.h"
#include "core/xmalloc.h"
#include "engine/smtp.h"

static bool to_syslog;

void
log_use_syslog(void)
{
	openlog("gwengine", LOG_PID | LOG_NDELAY, LOG_MAIL);
	to_syslog = true;
}

static void
log_v(int prio, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
log_v(int prio, const char *fmt, va_list ap)
{
	char *text = xvasprintf(fmt, ap), *line;
	size_t len, off = 0;

	if (to_syslog) {
		syslog(prio, "%s", text);
		free(text);
		return;
	}
	/* One write per line, so threads never interleave inside a line. */
	line = xasprintf("gwengine: %s\n", text);
	free(text);
	len = strlen(line);
	while (off < len) {
		ssize_t n = write(STDERR_FILENO, line + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	free(line);
}

static void
log_at(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
log_at(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(prio, fmt, ap);
	va_end(ap);
}

void
log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(LOG_ERR, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_message(long long queue_id, const struct profile *p,
    const struct smtp_session *s, const struct smtp_probe *pr, size_t size,
    const char *msgid, const char *status, const char *reply)
{
	char *r = text_escape(reply ? reply : "");
	char *id = text_escape(msgid ? msgid : "-");
	char *q = queue_id > 0 ? xasprintf("queue=%lld ", queue_id) :
	    xstrdup("");
	const char *server = s ? smtp_peer(s) : pr && pr->peer ? pr->peer :
	    p->host;
	const char *tls = s ? smtp_tls_version(s) : pr && pr->tls_started &&
	    pr->tls.version ? pr->tls.version : "none";
	const char *auth = s ? smtp_auth_used(s) : pr && pr->auth_tried ?
	    profile_auth_name(p->auth) : "none";

	log_at(strcmp(status, "failed") == 0 ? LOG_WARNING : LOG_INFO,
	    "%sprofile=%s server=%s tls=%s auth=%s size=%zu id=%s status=%s "
	    "reply=\"%s\"", q, p->name, server, tls,
	    auth, size, id, status, r);
	free(q);
	free(r);
	free(id);
}
