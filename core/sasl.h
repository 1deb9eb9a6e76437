/*
 * core/sasl.h: the client messages of the SASL mechanisms gwsmtp speaks:
 * PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login) and ANONYMOUS
 * (RFC 4505), base64-encoded as SMTP AUTH (RFC 4954) carries them.
 *
 * Pure encoding: no I/O, and it never logs.  Every returned string holds a
 * credential or may: free it with free_secret().
 */
#ifndef GWSMTP_CORE_SASL_H
#define GWSMTP_CORE_SASL_H

/* base64("" NUL user NUL password): PLAIN's initial response. */
char	*sasl_plain_response(const char *user, const char *password);
/* base64(value): LOGIN's answer to either prompt. */
char	*sasl_login_response(const char *value);
/* base64(trace), or "=" for an empty trace (RFC 4954 empty response). */
char	*sasl_anonymous_response(const char *trace);

#endif
