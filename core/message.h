/*
 * core/message.h: the message the engine sends: building a MIME message
 * from options (RFC 5322, RFC 2045-2047), completing a given one with the
 * headers it lacks, and the SMTP DATA form of either (CRLF line ends,
 * dot-stuffing, the final ".").  Pure text work: no I/O.
 */
#ifndef GWSMTP_CORE_MESSAGE_H
#define GWSMTP_CORE_MESSAGE_H

#include <stddef.h>
#include <time.h>

/* RFC 5321 4.5.3.1.6: a text line is at most 1000 octets with its CRLF. */
#define MESSAGE_LINE_MAX	998

struct message_attachment {
	const char		*name;		/* file name shown to the reader */
	const unsigned char	*data;
	size_t			 len;
};

struct message_params {
	const char				*from;
	const char *const			*to;
	size_t					 nto;
	const char				*subject;	/* NULL: none */
	const char				*body;		/* NULL: empty */
	size_t					 body_len;
	const struct message_attachment		*attachments;
	size_t					 nattachments;
	const char				*domain;	/* for Message-ID */
	time_t					 now;
};

/*
 * Builds the message: Date, From, To, Subject (RFC 2047 encoded-words when
 * not ASCII), Message-ID, MIME-Version.  Without attachments the body is
 * one text/plain part; with them, multipart/mixed with the body first and
 * each attachment base64 with its file name.  A body that is ASCII with
 * lines of at most MESSAGE_LINE_MAX goes as 7bit, otherwise base64.
 * Addresses are not checked here; a control character in one becomes a
 * space, so no value can start a header field of its own.
 * Returns the message (CRLF line ends), *len its length.  Caller frees.
 */
char	*message_build(const struct message_params *p, size_t *len);

/*
 * Takes a complete RFC 5322 message (--message) and adds Date and
 * Message-ID when its header lacks them; the rest is kept byte for byte.
 * Returns 0 with *out and *outlen (caller frees), or -1 with *cause when there
 * is no header (the first line is not a header field).
 */
int	 message_complete(const char *raw, size_t len, const char *domain,
	     time_t now, char **out, size_t *outlen, char **cause);

/*
 * The Message-ID field's value in msg's header ("<id@domain>", unfolded,
 * without surrounding white space), or NULL.  Caller frees.
 */
char	*message_id(const char *msg, size_t len);

/*
 * The DATA form: bare LF and bare CR become CRLF, a line starting with '.'
 * gets another '.', and ".\r\n" ends it.  A line longer than
 * MESSAGE_LINE_MAX octets is refused (-1, *cause names the line).
 */
int	 message_smtp_data(const char *msg, size_t len, char **out,
	     size_t *outlen, char **cause);
/*
 * Whether data is in the form message_smtp_data() gives: CRLF line ends
 * only, every leading dot doubled, the last line a lone dot.  What the
 * engine checks before it sends stored data, so that nothing in the
 * database can end the data early and smuggle a command.  0, or -1 with
 * *cause (which line, and what).
 */
int	 message_data_check(const char *data, size_t len, char **cause);

#endif
