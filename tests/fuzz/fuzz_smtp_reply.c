/*
 * tests/fuzz/fuzz_smtp_reply.c: fuzz target for the SMTP reply parser and
 * the EHLO capability reader.  The input is what a server sent: parse reply
 * after reply as the engine does, never a crash, a leak, or a reply that
 * consumed nothing or more than it was given.
 */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>

#include "core/smtp_reply.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	size_t off = 0;

	while (off < size) {
		struct smtp_reply r;
		struct smtp_caps caps;
		size_t used = 0;
		char *cause = NULL, *s;
		int rc;

		rc = smtp_reply_parse(buf + off, size - off, &r, &used, &cause);
		if (rc != SMTP_REPLY_COMPLETE) {
			if (rc == SMTP_REPLY_INVALID && cause == NULL)
				abort();
			free(cause);
			smtp_reply_clear(&r);
			break;
		}
		if (used == 0 || used > size - off || r.nlines == 0 ||
		    r.code < 200 || r.code > 599)
			abort();
		s = smtp_reply_summary(&r);
		free(s);
		smtp_caps_parse(&r, &caps);
		smtp_caps_clear(&caps);
		smtp_reply_clear(&r);
		off += used;
	}
	return 0;
}
