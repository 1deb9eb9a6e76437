/*
 * core/base64.h: base64 (RFC 4648) for SASL messages and MIME bodies.
 */
#ifndef GWSMTP_CORE_BASE64_H
#define GWSMTP_CORE_BASE64_H

#include <stddef.h>

/* Encodes len bytes; NUL-terminated, no line breaks.  Caller frees. */
char	*base64_encode(const void *data, size_t len);
/*
 * The same, in lines of at most 76 characters ended by CRLF (MIME,
 * RFC 2045), the last line ended too.  *outlen set if non-NULL.
 */
char	*base64_encode_mime(const void *data, size_t len, size_t *outlen);
/*
 * Decodes s (padding required, no white space, unused bits zero).  Returns
 * 0 with *out (NUL-terminated as a convenience) and *outlen, or -1 on bad
 * input, *out untouched.
 */
int	 base64_decode(const char *s, unsigned char **out, size_t *outlen);

#endif
