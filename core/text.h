/*
 * core/text.h: small text helpers shared by validation and display:
 * UTF-8 checking and counting, and escaping of control characters so that
 * text from a file or the store never reaches a terminal raw.
 */
#ifndef GWSMTP_CORE_TEXT_H
#define GWSMTP_CORE_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* True if s[0..len) is well-formed UTF-8 (no overlongs, surrogates or NUL). */
bool	 text_utf8_valid(const char *s, size_t len);
/* Number of code points in a valid UTF-8 string. */
size_t	 text_utf8_length(const char *s);
/* True if s holds a C0 control character or DEL (tab included). */
bool	 text_has_control(const char *s);
/*
 * A copy of s safe to print: control characters, DEL, backslash and invalid
 * UTF-8 bytes become C-style escapes (\n, \t, \\, \x1b).  Caller frees.
 */
char	*text_escape(const char *s);

#endif
