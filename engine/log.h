/*
 * engine/log.h: gwengine's one voice.  Every line it says goes to standard
 * error as "gwengine: ...", or to syslog (facility mail) after
 * log_use_syslog().  Safe from several threads: each line is one write.
 *
 * Callers pass no secrets: the SMTP code below never logs, and what the
 * server said is escaped here before it is shown.
 */
#ifndef GWSMTP_ENGINE_LOG_H
#define GWSMTP_ENGINE_LOG_H

#include <stddef.h>

struct smtp_session;
struct smtp_probe;
struct profile;

/* From now on, lines go to syslog as gwengine[pid], facility LOG_MAIL. */
void	 log_use_syslog(void);

/* An error or a notice (syslog: LOG_ERR / LOG_INFO). */
void	 log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * The line for one message (SPEC section 7): queue id (0: not queued),
 * profile, server, TLS, auth mechanism, size, Message-ID, status and the
 * server's reply.  s is the session if one was open, else pr says how far
 * the attempt got (either may be NULL).
 */
void	 log_message(long long queue_id, const struct profile *p,
	     const struct smtp_session *s, const struct smtp_probe *pr,
	     size_t size, const char *msgid, const char *status,
	     const char *reply);

#endif
