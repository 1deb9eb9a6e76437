/*
 * core/sasl.c: the client messages of SASL PLAIN, LOGIN and ANONYMOUS,
 * base64-encoded for SMTP AUTH.
 *
 * Only the encoding: which mechanism to use, and whether the link is safe
 * for it, is the engine's decision.  Buffers that held a credential in the
 * clear are wiped before they are freed.
 */
#include "core/sasl.h"

#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "core/xmalloc.h"

char *
sasl_plain_response(const char *user, const char *password)
{
	size_t ulen = strlen(user), plen = strlen(password);
	size_t len = 1 + ulen + 1 + plen;
	char *buf, *out;

	/* RFC 4616: authzid (empty: act as authcid) NUL authcid NUL passwd. */
	buf = xmalloc(len);
	buf[0] = '\0';
	memcpy(buf + 1, user, ulen);
	buf[1 + ulen] = '\0';
	memcpy(buf + 2 + ulen, password, plen);
	out = base64_encode(buf, len);
	explicit_bzero(buf, len);
	free(buf);
	return out;
}

char *
sasl_login_response(const char *value)
{
	return base64_encode(value, strlen(value));
}

char *
sasl_anonymous_response(const char *trace)
{
	if (*trace == '\0')
		return xstrdup("=");
	return base64_encode(trace, strlen(trace));
}
