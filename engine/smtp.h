/*
 * engine/smtp.h: the SMTP client.  A session is opened once (connect,
 * greeting, EHLO, STARTTLS, AUTH) and then carries any number of messages,
 * with RSET between them, until it is closed with QUIT.
 *
 * It speaks the protocol for one profile; choosing the profile, building
 * the message and turning results into exit codes are the caller's.
 */
#ifndef GWSMTP_ENGINE_SMTP_H
#define GWSMTP_ENGINE_SMTP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/profile.h"
#include "core/smtp_reply.h"
#include "engine/tls.h"

/* At most this many RCPT commands per transaction (RFC 5321 4.5.3.1.8). */
#define SMTP_RCPT_MAX	100

/* How a session step failed: the caller maps these to exit codes. */
enum smtp_status {
	SMTP_OK = 0,
	SMTP_ERR_TEMP,		/* 4xx, or the link broke or timed out */
	SMTP_ERR_PERM,		/* 5xx to MAIL, RCPT or the data */
	SMTP_ERR_UNAVAILABLE,	/* no connection, 5xx greeting, TLS failed
				   or refused, STARTTLS missing */
	SMTP_ERR_PROTOCOL,	/* not SMTP: bad reply, injected bytes */
	SMTP_ERR_AUTH,		/* refused, or mechanism not offered */
	SMTP_ERR_CONFIG,	/* the profile forbids what is needed */
	SMTP_ERR_DATA		/* the message cannot go: SIZE, recipients */
};

/* The client's states, named in errors ("during STARTTLS: ..."). */
enum smtp_state {
	SMTP_STATE_CONNECT,
	SMTP_STATE_TLS,
	SMTP_STATE_GREETING,
	SMTP_STATE_EHLO,
	SMTP_STATE_HELO,
	SMTP_STATE_STARTTLS,
	SMTP_STATE_AUTH,
	SMTP_STATE_READY,
	SMTP_STATE_MAIL,
	SMTP_STATE_RCPT,
	SMTP_STATE_DATA,
	SMTP_STATE_BODY,
	SMTP_STATE_RSET,
	SMTP_STATE_QUIT,
	SMTP_STATE_CLOSED
};

const char	*smtp_state_name(enum smtp_state state);

/* What probe reports; smtp_open() fills it as far as it gets. */
struct smtp_probe {
	char		*peer;		/* address connected to */
	char		*greeting;	/* summary of the 220 */
	bool		 tls_started;
	struct tls_info	 tls;
	struct smtp_caps caps_before;	/* plain-text EHLO (explicit TLS) */
	struct smtp_caps caps;		/* the capabilities in force */
	bool		 auth_tried;
	bool		 auth_ok;
	char		*auth_reply;	/* the server's answer to AUTH */
};

void	 smtp_probe_clear(struct smtp_probe *p);

struct smtp_rcpt_result {
	int	 code;		/* the RCPT reply's code, 0 if not sent */
	char	*reply;
	int	 final;		/* what settles it: the RCPT reply's code if
				   refused, else the reply to the data (or
				   to a DATA command refused); 0 if the
				   transaction never got that far */
};

struct smtp_result {
	int			 code;		/* final reply to the data */
	char			*reply;		/* its summary */
	struct smtp_rcpt_result	*rcpt;		/* one per recipient */
	size_t			 nrcpt;
	size_t			 accepted;	/* recipients the server took */
};

void	 smtp_result_clear(struct smtp_result *r);

struct smtp_session;

/*
 * Connects to the profile's host, then each alt_host in turn while a
 * connection cannot be made, and takes the session to READY.  helo is the
 * EHLO name.  probe may be NULL.  On failure *cause says what happened and
 * where (state, server, its reply), and the connection is closed.
 */
enum smtp_status smtp_open(const struct profile *p, const char *helo,
		    struct smtp_probe *probe, struct smtp_session **out,
		    char **cause);

/*
 * Sends one message: MAIL, RCPT for each recipient (pipelined when offered;
 * several transactions if more than SMTP_RCPT_MAX), DATA, the data (already
 * in DATA form: see message_smtp_data()).  SMTP_OK when the server accepted
 * it for at least one recipient; result says which.  After a failure that
 * left the session usable, smtp_reset() makes it ready for the next one.
 * A message after a completed one is preceded by RSET, pipelined with MAIL
 * when the server offers PIPELINING.
 */
enum smtp_status smtp_send(struct smtp_session *s, const char *from,
		    const char *const *rcpt, size_t nrcpt, const char *data,
		    size_t len, struct smtp_result *result, char **cause);
/* One message for smtp_send_stream(). */
struct smtp_message {
	const char		*from;
	const char *const	*rcpt;
	size_t			 nrcpt;
	const char		*data;	/* DATA form */
	size_t			 len;
};

struct smtp_stream {
	/* Fills *m with the i-th message; false when there is none. */
	bool	(*next)(void *arg, size_t i, struct smtp_message *m);
	/*
	 * The i-th message's outcome, as smtp_send() would give it; result
	 * and cause are valid during the call only.
	 */
	void	(*done)(void *arg, size_t i, enum smtp_status st,
		    const struct smtp_result *result, const char *cause);
};

/*
 * Sends messages one after another over the session until next() has no
 * more or the session ends.  With PIPELINING, a message's data, its end
 * and the next message's RSET, MAIL, RCPT and DATA go in one write, so a
 * message costs one round trip (RFC 2920 lets the data open a group).
 * done() is called once for every message next() gave, in order; a
 * message's outcome may come after next() gave the following one.  After
 * a failure the session goes on with RSET (no smtp_reset() needed) unless
 * it ended.  Returns how many messages next() gave.
 */
size_t		 smtp_send_stream(struct smtp_session *s,
		    const struct smtp_stream *ops, void *arg);
/* RSET; a session that cannot be reset must be closed. */
enum smtp_status smtp_reset(struct smtp_session *s, char **cause);
/* Whether the session can carry another message. */
bool		 smtp_usable(const struct smtp_session *s);
const char	*smtp_peer(const struct smtp_session *s);
/* "TLS1.3" or "none"; the mechanism used, or "none". */
const char	*smtp_tls_version(const struct smtp_session *s);
const char	*smtp_auth_used(const struct smtp_session *s);
/* QUIT (when possible) and free.  NULL is a no-op. */
void		 smtp_close(struct smtp_session *s);

#endif
