/*
 * core/smtp_reply.h: SMTP replies (RFC 5321 4.2) and EHLO capabilities.
 *
 * A parser over bytes already received: it finds one complete reply
 * (possibly multi-line) at the start of a buffer, or says it needs more.
 * It does no I/O, so the engine and the fuzz target drive it alike.
 */
#ifndef GWSMTP_CORE_SMTP_REPLY_H
#define GWSMTP_CORE_SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>

/* A reply line's longest length, CRLF included (RFC 5321 4.5.3.1.5). */
#define SMTP_REPLY_LINE_MAX	512
/* Lines of one reply beyond which it is refused (a server gone wrong). */
#define SMTP_REPLY_LINES_MAX	100

struct smtp_reply {
	int	 code;		/* 200-599 */
	size_t	 nlines;
	char	**lines;	/* text after "NNN-" / "NNN ", no CRLF */
};

enum smtp_reply_result {
	SMTP_REPLY_COMPLETE = 0,
	SMTP_REPLY_INCOMPLETE = 1,	/* read more, call again */
	SMTP_REPLY_INVALID = -1		/* *cause says why */
};

/*
 * Looks for one complete reply at buf[0..len).  On COMPLETE fills out
 * (free with smtp_reply_clear()) and sets *consumed to the bytes it used;
 * the rest of buf is the next reply or injected bytes.  Lines end in CRLF
 * (a bare LF is accepted); a line longer than SMTP_REPLY_LINE_MAX, a code
 * that is not 3 digits from 2xx to 5xx, a separator other than ' ' or '-'
 * (a bare "250" line is accepted), lines with differing codes, a NUL byte,
 * or more than SMTP_REPLY_LINES_MAX lines is INVALID.  A bad code or
 * separator is INVALID as soon as it arrives, before its line end.  out is
 * zeroed first whatever the result, so smtp_reply_clear() is always safe.
 */
int	 smtp_reply_parse(const char *buf, size_t len, struct smtp_reply *out,
	     size_t *consumed, char **cause);
void	 smtp_reply_clear(struct smtp_reply *r);
/* "250 first line / second line" on one line, escaped for logs; frees: caller. */
char	*smtp_reply_summary(const struct smtp_reply *r);
/*
 * "535 5.7.8 (reply text not shown)": the code and the enhanced status
 * code (RFC 3463) without the text, for replies that may echo a secret
 * (the answers to AUTH).  Caller frees.
 */
char	*smtp_reply_status(const struct smtp_reply *r);

/* What an EHLO reply offers. */
struct smtp_caps {
	bool		 esmtp;		/* EHLO answered (not HELO) */
	bool		 starttls;
	bool		 pipelining;
	bool		 eightbitmime;
	bool		 smtputf8;
	bool		 dsn;
	bool		 size;
	unsigned long	 size_max;	/* 0: no limit given */
	bool		 auth_plain;
	bool		 auth_login;
	bool		 auth_anonymous;
	char		*auth;		/* the AUTH line's mechanisms, or NULL */
};

/* Reads the capabilities from an EHLO reply's lines after the first. */
void	 smtp_caps_parse(const struct smtp_reply *ehlo, struct smtp_caps *out);
void	 smtp_caps_clear(struct smtp_caps *c);

#endif
