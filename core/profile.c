/*
 * core/profile.c: the SMTP profile and global settings model.
 *
 * One table describes every key (name, type, where it lives in the struct,
 * its limits), so parsing, printing, comparing and validating are generic
 * and the key list exists once.  Syntax checks for names, hosts, addresses
 * and fingerprints live here too.  This module does not know where a value
 * came from; callers add the location.
 */
#include "core/profile.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/text.h"
#include "core/xmalloc.h"

/* What a string key must look like beyond its length. */
enum string_kind {
	KIND_TEXT,		/* printable UTF-8 */
	KIND_SECRET,		/* any UTF-8, control characters included */
	KIND_NAME,
	KIND_HOST,
	KIND_ADDRESS,
	KIND_PATH,
	KIND_FINGERPRINT,
	KIND_TRACE
};

struct key_info {
	const char		*name;
	enum profile_key_type	 type;
	size_t			 offset;
	int			 min;		/* INT: range; STRING: max chars */
	int			 max;
	enum string_kind	 kind;
	const char *const	*words;		/* ENUM: names by value */
	const char		*help;
};

static const char *const tls_words[] = { "none", "explicit", "implicit", NULL };
static const char *const starttls_words[] = { "mandatory", "optional", NULL };
static const char *const tls_min_words[] = { "1.2", "1.3", NULL };
static const char *const auth_words[] = {
	"none", "plain", "login", "anonymous", NULL
};

#define F(field) offsetof(struct profile, field)

static const struct key_info keys[PROFILE_KEY_COUNT] = {
	[PROFILE_KEY_NAME] = { "name", PROFILE_TYPE_STRING, F(name), 0,
	    PROFILE_NAME_MAX, KIND_NAME, NULL,
	    "1-31 characters: letters, digits, '.', '_', '-'" },
	[PROFILE_KEY_ACTIVE] = { "active", PROFILE_TYPE_BOOL, F(active), 0, 0,
	    0, NULL, "true or false" },
	[PROFILE_KEY_HOST] = { "host", PROFILE_TYPE_STRING, F(host), 0, 253,
	    KIND_HOST, NULL, "DNS name or IP address, at most 253 characters" },
	[PROFILE_KEY_PORT] = { "port", PROFILE_TYPE_INT, F(port), 1, 65535, 0,
	    NULL, "1-65535 (465 implicit, 587 explicit, 25 none)" },
	[PROFILE_KEY_ALT_HOSTS] = { "alt_hosts", PROFILE_TYPE_LIST,
	    F(alt_hosts), 0, 0, 0, NULL,
	    "up to 3 host[:port], comma-separated ([v6]:port for IPv6)" },
	[PROFILE_KEY_TLS] = { "tls", PROFILE_TYPE_ENUM, F(tls), 0, 0, 0,
	    tls_words, "none, explicit (STARTTLS) or implicit" },
	[PROFILE_KEY_STARTTLS] = { "starttls", PROFILE_TYPE_ENUM, F(starttls),
	    0, 0, 0, starttls_words, "mandatory or optional (explicit TLS)" },
	[PROFILE_KEY_VERIFY] = { "verify", PROFILE_TYPE_BOOL, F(verify), 0, 0,
	    0, NULL, "true or false: check the certificate and host name" },
	[PROFILE_KEY_CA_FILE] = { "ca_file", PROFILE_TYPE_STRING, F(ca_file),
	    0, 4095, KIND_PATH, NULL,
	    "absolute path to a PEM file; empty: system trust store" },
	[PROFILE_KEY_FINGERPRINT] = { "fingerprint", PROFILE_TYPE_STRING,
	    F(fingerprint), 0, 102, KIND_FINGERPRINT, NULL,
	    "sha256: and 64 hex digits" },
	[PROFILE_KEY_TLS_MIN] = { "tls_min", PROFILE_TYPE_ENUM, F(tls_min), 0,
	    0, 0, tls_min_words, "1.2 or 1.3" },
	[PROFILE_KEY_AUTH] = { "auth", PROFILE_TYPE_ENUM, F(auth), 0, 0, 0,
	    auth_words, "none, plain, login or anonymous" },
	[PROFILE_KEY_USERNAME] = { "username", PROFILE_TYPE_STRING,
	    F(username), 0, 255, KIND_TEXT, NULL,
	    "at most 255 characters; required for plain and login" },
	[PROFILE_KEY_PASSWORD] = { "password", PROFILE_TYPE_STRING,
	    F(password), 0, PROFILE_PASSWORD_MAX, KIND_SECRET, NULL,
	    "at most 1024 characters; required for plain and login" },
	[PROFILE_KEY_TRACE] = { "trace", PROFILE_TYPE_STRING, F(trace), 0, 255,
	    KIND_TRACE, NULL,
	    "ANONYMOUS trace token, at most 255 characters; default: from" },
	[PROFILE_KEY_ALLOW_PLAIN_AUTH_WITHOUT_TLS] = {
	    "allow_plain_auth_without_tls", PROFILE_TYPE_BOOL,
	    F(allow_plain_auth_without_tls), 0, 0, 0, NULL,
	    "true or false: send PLAIN/LOGIN over an unencrypted link" },
	[PROFILE_KEY_FROM] = { "from", PROFILE_TYPE_STRING, F(from), 0, 128,
	    KIND_ADDRESS, NULL, "sender address, at most 128 characters" },
	[PROFILE_KEY_TO] = { "to", PROFILE_TYPE_STRING, F(to), 0, 128,
	    KIND_ADDRESS, NULL, "default recipient, at most 128 characters" },
	[PROFILE_KEY_HELO] = { "helo", PROFILE_TYPE_STRING, F(helo), 0, 253,
	    KIND_HOST, NULL, "EHLO name; default: this system's host name" },
	[PROFILE_KEY_TIMEOUT] = { "timeout", PROFILE_TYPE_INT, F(timeout), 1,
	    3600, 0, NULL, "1-3600 seconds per network operation" },
	[PROFILE_KEY_RETRIES] = { "retries", PROFILE_TYPE_INT, F(retries), 0,
	    999, 0, NULL, "0-999 attempts after the first" },
	[PROFILE_KEY_RETRY_DELAY] = { "retry_delay", PROFILE_TYPE_INT,
	    F(retry_delay), 1, 9999, 0, NULL,
	    "1-9999 seconds before the first retry; doubles each time" },
	[PROFILE_KEY_RETRY_MAX] = { "retry_max", PROFILE_TYPE_INT,
	    F(retry_max), 1, 86400, 0, NULL,
	    "1-86400 seconds: the longest delay between retries" },
	[PROFILE_KEY_MAX_CONNECTIONS] = { "max_connections", PROFILE_TYPE_INT,
	    F(max_connections), 1, 999, 0, NULL,
	    "1-999 parallel sessions to this server" },
	[PROFILE_KEY_COMMENT] = { "comment", PROFILE_TYPE_STRING, F(comment),
	    0, 80, KIND_TEXT, NULL, "at most 80 characters" },
};

#undef F

/* The columns whose name is not the key's (profile_key_column()). */
static const char *const columns[PROFILE_KEY_COUNT] = {
	[PROFILE_KEY_FROM] = "from_addr",
	[PROFILE_KEY_TO] = "to_addr",
};

static char **
str_field(struct profile *p, enum profile_key key)
{
	return (char **)((char *)p + keys[key].offset);
}

static char *const *
str_field_c(const struct profile *p, enum profile_key key)
{
	return (char *const *)((const char *)p + keys[key].offset);
}

/* Enums and ints are both read and written as int. */
static int *
int_field(struct profile *p, enum profile_key key)
{
	return (int *)((char *)p + keys[key].offset);
}

static int
int_field_c(const struct profile *p, enum profile_key key)
{
	return *(const int *)((const char *)p + keys[key].offset);
}

static bool *
bool_field(struct profile *p, enum profile_key key)
{
	return (bool *)((char *)p + keys[key].offset);
}

static bool
bool_field_c(const struct profile *p, enum profile_key key)
{
	return *(const bool *)((const char *)p + keys[key].offset);
}

const char *
profile_key_name(enum profile_key key)
{
	return key < PROFILE_KEY_COUNT ? keys[key].name : "?";
}

int
profile_key_lookup(const char *name, enum profile_key *key)
{
	for (int i = 0; i < PROFILE_KEY_COUNT; i++) {
		if (strcmp(keys[i].name, name) == 0) {
			*key = (enum profile_key)i;
			return 0;
		}
	}
	return -1;
}

enum profile_key_type
profile_key_type(enum profile_key key)
{
	return keys[key].type;
}

bool
profile_key_secret(enum profile_key key)
{
	return key == PROFILE_KEY_PASSWORD;
}

const char *
profile_key_help(enum profile_key key)
{
	return keys[key].help;
}

const char *
profile_key_column(enum profile_key key)
{
	return columns[key] != NULL ? columns[key] : keys[key].name;
}

const char *
profile_tls_name(enum profile_tls tls)
{
	return tls_words[tls];
}

const char *
profile_auth_name(enum profile_auth auth)
{
	return auth_words[auth];
}

int
profile_default_port(enum profile_tls tls)
{
	switch (tls) {
	case PROFILE_TLS_IMPLICIT:
		return 465;
	case PROFILE_TLS_EXPLICIT:
		return 587;
	case PROFILE_TLS_NONE:
		break;
	}
	return 25;
}

struct profile *
profile_new(const char *name)
{
	struct profile *p = xcalloc(1, sizeof *p);

	p->name = name ? xstrdup(name) : NULL;
	p->active = true;
	p->tls = PROFILE_TLS_IMPLICIT;
	p->port = profile_default_port(p->tls);
	p->starttls = PROFILE_STARTTLS_MANDATORY;
	p->verify = true;
	p->tls_min = PROFILE_TLS_MIN_1_2;
	p->auth = PROFILE_AUTH_NONE;
	p->timeout = 60;
	p->retries = 10;
	p->retry_delay = 10;
	p->retry_max = 1800;
	p->max_connections = 1;
	return p;
}

struct profile *
profile_dup(const struct profile *src)
{
	struct profile *p = xmalloc(sizeof *p);

	*p = *src;
	for (int k = 0; k < PROFILE_KEY_COUNT; k++) {
		if (keys[k].type == PROFILE_TYPE_STRING) {
			char **f = str_field(p, (enum profile_key)k);

			if (*f != NULL)
				*f = xstrdup(*f);
		}
	}
	for (size_t i = 0; i < p->alt_hosts_n; i++)
		p->alt_hosts[i] = xstrdup(src->alt_hosts[i]);
	return p;
}

void
profile_free(struct profile *p)
{
	if (p == NULL)
		return;
	for (int k = 0; k < PROFILE_KEY_COUNT; k++) {
		if (keys[k].type == PROFILE_TYPE_STRING)
			free_secret(*str_field(p, (enum profile_key)k));
	}
	for (size_t i = 0; i < p->alt_hosts_n; i++)
		free(p->alt_hosts[i]);
	free(p);
}

/* Syntax checks. */

/*
 * The character at s as a reason shows it: the whole UTF-8 sequence if it is
 * one (so 'é', not '\xc3'), else the byte, escaped.  Caller frees.
 */
static char *
shown_char(const char *s)
{
	unsigned char c = (unsigned char)*s;
	size_t n = 1;
	char *one, *shown;

	if (c == ' ')
		return xstrdup("space");
	if ((c & 0xe0) == 0xc0)
		n = 2;
	else if ((c & 0xf0) == 0xe0)
		n = 3;
	else if ((c & 0xf8) == 0xf0)
		n = 4;
	if (n > 1 && (strnlen(s, n) < n || !text_utf8_valid(s, n)))
		n = 1;
	one = xstrndup(s, n);
	shown = text_escape(one);
	free(one);
	return shown;
}

int
profile_check_name(const char *name, char **cause)
{
	size_t len = strlen(name);

	if (len == 0) {
		*cause = xstrdup("must not be empty");
		return -1;
	}
	/*
	 * Characters before length: only ASCII is allowed, so once they pass
	 * bytes are characters and the length in the reason is right.
	 */
	for (const char *s = name; *s != '\0'; s++) {
		if (!isascii((unsigned char)*s) ||
		    (!isalnum((unsigned char)*s) && strchr("._-", *s) == NULL)) {
			char *shown = shown_char(s);

			*cause = xasprintf("'%s' is not allowed: use letters, "
			    "digits, '.', '_' and '-'", shown);
			free(shown);
			return -1;
		}
	}
	if (len > PROFILE_NAME_MAX) {
		*cause = xasprintf("is %zu characters long; at most %d allowed",
		    len, PROFILE_NAME_MAX);
		return -1;
	}
	return 0;
}

static bool
is_ip_literal(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 ||
	    inet_pton(AF_INET6, s, buf) == 1;
}

int
profile_check_host(const char *host, char **cause)
{
	size_t len = strlen(host), label = 0;
	bool all_numeric = true;

	if (len == 0) {
		*cause = xstrdup("must not be empty");
		return -1;
	}
	if (is_ip_literal(host))
		return 0;
	if (len > 253) {
		*cause = xasprintf("is %zu characters long; at most 253 allowed",
		    len);
		return -1;
	}
	if (strchr(host, ':') != NULL) {
		*cause = xstrdup("is not a valid IPv6 address (and a host "
		    "name has no ':'; give the port separately)");
		return -1;
	}
	for (size_t i = 0; i <= len; i++) {
		char c = host[i];

		if (c == '.' || c == '\0') {
			if (label == 0 && !(c == '\0' && i == len && i > 0)) {
				*cause = xstrdup("has an empty label "
				    "(two dots, or a leading dot)");
				return -1;
			}
			if (label > 63) {
				*cause = xstrdup("has a label longer than 63 "
				    "characters");
				return -1;
			}
			if (label > 0 && (host[i - 1] == '-' ||
			    host[i - label] == '-')) {
				*cause = xstrdup("has a label that begins or "
				    "ends with '-'");
				return -1;
			}
			label = 0;
			continue;
		}
		if (!isascii((unsigned char)c) ||
		    (!isalnum((unsigned char)c) && c != '-')) {
			char *shown = shown_char(host + i);

			*cause = xasprintf("is not a valid host name: '%s' is "
			    "not allowed (letters, digits, '-' and '.')",
			    shown);
			free(shown);
			return -1;
		}
		if (!isdigit((unsigned char)c))
			all_numeric = false;
		label++;
	}
	if (all_numeric) {
		*cause = xstrdup("is not a valid IPv4 address");
		return -1;
	}
	return 0;
}

/* An addr-spec with a dot-atom local part: what gateways actually use. */
static int
check_address(const char *addr, char **cause)
{
	const char *at = strrchr(addr, '@');
	char *cause2 = NULL;

	if (at == NULL || at == addr || at[1] == '\0') {
		*cause = xstrdup("is not an address of the form "
		    "local-part@domain");
		return -1;
	}
	if (at - addr > 64) {
		*cause = xstrdup("has a local part longer than 64 characters");
		return -1;
	}
	for (const char *s = addr; s < at; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= ' ' || c == 0x7f || strchr("<>()[]\\,;:@\"", c)) {
			*cause = xstrdup("has a character the local part may "
			    "not hold (space, quotes, <>()[],;:@ or a "
			    "control character)");
			return -1;
		}
		if (c == '.' && (s == addr || s[1] == '.' || s + 1 == at)) {
			*cause = xstrdup("has a misplaced '.' in the local "
			    "part");
			return -1;
		}
	}
	if (at[1] == '[') {
		size_t n = strlen(at + 2);
		unsigned char buf[16];
		char *lit;
		int ok;

		if (n == 0 || at[2 + n - 1] != ']') {
			*cause = xstrdup("has an unclosed address literal");
			return -1;
		}
		lit = xstrndup(at + 2, n - 1);
		/* RFC 5321 4.1.3: [IPv6:...] for IPv6, a bare IPv4 otherwise. */
		if (strncasecmp(lit, "IPv6:", 5) == 0)
			ok = inet_pton(AF_INET6, lit + 5, buf) == 1;
		else
			ok = inet_pton(AF_INET, lit, buf) == 1;
		free(lit);
		if (!ok) {
			*cause = xstrdup("has an invalid address literal");
			return -1;
		}
		return 0;
	}
	if (profile_check_host(at + 1, &cause2) != 0) {
		*cause = xasprintf("has a domain that %s", cause2);
		free(cause2);
		return -1;
	}
	return 0;
}

/* Normalises "sha256:AB:cd..." to "sha256:abcd..." in place. */
static int
check_fingerprint(char *fp, char **cause)
{
	char *in, *out;
	size_t hex = 0;

	if (strncasecmp(fp, "sha256:", 7) != 0) {
		*cause = xstrdup("must be 'sha256:' followed by 64 hex digits");
		return -1;
	}
	memcpy(fp, "sha256:", 7);
	for (in = out = fp + 7; *in != '\0'; in++) {
		if (*in == ':')
			continue;
		if (!isxdigit((unsigned char)*in)) {
			*cause = xstrdup("must be 'sha256:' followed by 64 hex "
			    "digits (colons between pairs allowed)");
			return -1;
		}
		*out++ = (char)tolower((unsigned char)*in);
		hex++;
	}
	*out = '\0';
	if (hex != 64) {
		*cause = xasprintf("has %zu hex digits; a SHA-256 fingerprint "
		    "has 64", hex);
		return -1;
	}
	return 0;
}

/* "host", "host:port", "[v6]" or "[v6]:port". */
static int
check_alt_host(const char *item, char **cause)
{
	char *host, *port = NULL, *cause2 = NULL;
	int rc = -1;

	if (item[0] == '[') {
		const char *end = strchr(item, ']');

		if (end == NULL) {
			*cause = xasprintf("'%s': missing ']'", item);
			return -1;
		}
		host = xstrndup(item + 1, (size_t)(end - item - 1));
		if (end[1] == ':')
			port = xstrdup(end + 2);
		else if (end[1] != '\0') {
			*cause = xasprintf("'%s': expected ':port' after ']'",
			    item);
			free(host);
			return -1;
		}
		if (inet_pton(AF_INET6, host, (unsigned char[16]){ 0 }) != 1) {
			*cause = xasprintf("'%s': not a valid IPv6 address",
			    item);
			goto out;
		}
	} else {
		const char *colon = strchr(item, ':');

		if (colon != NULL && strchr(colon + 1, ':') != NULL) {
			*cause = xasprintf("'%s': write an IPv6 address in "
			    "brackets, e.g. [2001:db8::1]:25", item);
			return -1;
		}
		host = colon ? xstrndup(item, (size_t)(colon - item)) :
		    xstrdup(item);
		if (colon != NULL)
			port = xstrdup(colon + 1);
		if (profile_check_host(host, &cause2) != 0) {
			*cause = xasprintf("'%s': host %s", item, cause2);
			free(cause2);
			goto out;
		}
	}
	if (port != NULL) {
		char *end;
		long v;

		errno = 0;
		v = strtol(port, &end, 10);
		if (!isdigit((unsigned char)port[0]) || *end != '\0' ||
		    errno != 0 || v < 1 || v > 65535) {
			*cause = xasprintf("'%s': port must be 1-65535", item);
			goto out;
		}
	}
	rc = 0;
out:
	free(host);
	free(port);
	return rc;
}

static int
parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static int
parse_int(const char *v, int min, int max, int *out, char **cause)
{
	char *end;
	long n;

	errno = 0;
	if (*v == '\0') {
		*cause = xasprintf("must be a number from %d to %d", min, max);
		return -1;
	}
	n = strtol(v, &end, 10);
	if (!(isdigit((unsigned char)v[0]) || (v[0] == '-' &&
	    isdigit((unsigned char)v[1]))) || *end != '\0') {
		char *shown = text_escape(v);

		*cause = xasprintf("'%s' is not a whole number (%d-%d)", shown,
		    min, max);
		free(shown);
		return -1;
	}
	if (errno == ERANGE || n < min || n > max) {
		char *shown = text_escape(v);

		*cause = xasprintf("%s is out of range (%d-%d)", shown, min,
		    max);
		free(shown);
		return -1;
	}
	*out = (int)n;
	return 0;
}

static int
parse_enum(const char *v, const char *const *words, int *out, char **cause)
{
	char *shown, *list;
	size_t i;

	for (i = 0; words[i] != NULL; i++) {
		if (strcasecmp(v, words[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	}
	list = xstrdup(words[0]);
	for (i = 1; words[i] != NULL; i++) {
		char *next = xasprintf("%s%s%s", list,
		    words[i + 1] ? ", " : " or ", words[i]);

		free(list);
		list = next;
	}
	shown = text_escape(v);
	*cause = xasprintf("'%s' is not one of %s", shown, list);
	free(shown);
	free(list);
	return -1;
}

/* Checks (and may normalise) a string value of the given kind. */
static int
check_string(const struct key_info *ki, char *v, char **cause)
{
	size_t len;

	if (!text_utf8_valid(v, strlen(v))) {
		*cause = xstrdup("is not valid UTF-8");
		return -1;
	}
	len = text_utf8_length(v);
	if (ki->max > 0 && len > (size_t)ki->max) {
		*cause = xasprintf("is %zu characters long; at most %d allowed",
		    len, ki->max);
		return -1;
	}
	if (ki->kind != KIND_SECRET && text_has_control(v)) {
		const char *c = v;
		char *shown;

		while ((unsigned char)*c >= 0x20 && *c != 0x7f)
			c++;
		shown = shown_char(c);
		*cause = xasprintf("must not contain control characters "
		    "(found '%s')", shown);
		free(shown);
		return -1;
	}
	switch (ki->kind) {
	case KIND_NAME:
		return profile_check_name(v, cause);
	case KIND_HOST:
		return profile_check_host(v, cause);
	case KIND_ADDRESS:
		return check_address(v, cause);
	case KIND_PATH:
		if (v[0] != '/') {
			*cause = xstrdup("must be an absolute path");
			return -1;
		}
		return 0;
	case KIND_FINGERPRINT:
		return check_fingerprint(v, cause);
	case KIND_TRACE:
		if (strchr(v, '@') != NULL && check_address(v, cause) != 0)
			return -1;
		return 0;
	case KIND_TEXT:
	case KIND_SECRET:
		break;
	}
	return 0;
}

static void
clear_list(struct profile *p)
{
	for (size_t i = 0; i < p->alt_hosts_n; i++) {
		free(p->alt_hosts[i]);
		p->alt_hosts[i] = NULL;
	}
	p->alt_hosts_n = 0;
}

int
profile_set_list(struct profile *p, enum profile_key key,
    const char *const *items, size_t n, char **cause)
{
	if (keys[key].type != PROFILE_TYPE_LIST) {
		*cause = xstrdup("is not a list");
		return -1;
	}
	if (n > PROFILE_ALT_HOSTS_MAX) {
		*cause = xasprintf("has %zu entries; at most %d allowed", n,
		    PROFILE_ALT_HOSTS_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!text_utf8_valid(items[i], strlen(items[i])) ||
		    text_has_control(items[i])) {
			*cause = xstrdup("has an entry with control characters "
			    "or invalid UTF-8");
			return -1;
		}
		if (check_alt_host(items[i], cause) != 0)
			return -1;
	}
	clear_list(p);
	for (size_t i = 0; i < n; i++)
		p->alt_hosts[i] = xstrdup(items[i]);
	p->alt_hosts_n = n;
	return 0;
}

/* Splits "a, b,c" and hands the trimmed items to profile_set_list(). */
static int
set_list_text(struct profile *p, enum profile_key key, const char *value,
    char **cause)
{
	char *copy = xstrdup(value), *items[PROFILE_ALT_HOSTS_MAX + 1];
	char *s = copy, *tok;
	size_t n = 0;
	int rc;

	while ((tok = strsep(&s, ",")) != NULL) {
		char *end;

		while (*tok == ' ' || *tok == '\t')
			tok++;
		end = tok + strlen(tok);
		while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*tok == '\0') {
			if (n == 0 && s == NULL)
				break;		/* "" clears the list */
			*cause = xstrdup("has an empty entry");
			free(copy);
			return -1;
		}
		if (n == PROFILE_ALT_HOSTS_MAX) {
			*cause = xasprintf("has more than %d entries",
			    PROFILE_ALT_HOSTS_MAX);
			free(copy);
			return -1;
		}
		items[n++] = tok;
	}
	rc = profile_set_list(p, key, (const char *const *)items, n, cause);
	free(copy);
	return rc;
}

int
profile_set(struct profile *p, enum profile_key key, const char *value,
    char **cause)
{
	const struct key_info *ki = &keys[key];
	char *copy;
	bool b;
	int n;

	switch (ki->type) {
	case PROFILE_TYPE_BOOL:
		if (parse_bool(value, &b) != 0) {
			char *shown = text_escape(value);

			*cause = xasprintf("'%s' is not true or false", shown);
			free(shown);
			return -1;
		}
		*bool_field(p, key) = b;
		return 0;
	case PROFILE_TYPE_INT:
		if (parse_int(value, ki->min, ki->max, &n, cause) != 0)
			return -1;
		*int_field(p, key) = n;
		return 0;
	case PROFILE_TYPE_ENUM:
		if (parse_enum(value, ki->words, &n, cause) != 0)
			return -1;
		*int_field(p, key) = n;
		return 0;
	case PROFILE_TYPE_LIST:
		return set_list_text(p, key, value, cause);
	case PROFILE_TYPE_STRING:
		break;
	}
	if (*value == '\0') {
		if (key == PROFILE_KEY_NAME || key == PROFILE_KEY_HOST) {
			*cause = xstrdup("must not be empty");
			return -1;
		}
		free_secret(*str_field(p, key));
		*str_field(p, key) = NULL;
		return 0;
	}
	copy = xstrdup(value);
	if (check_string(ki, copy, cause) != 0) {
		free_secret(copy);
		return -1;
	}
	free_secret(*str_field(p, key));
	*str_field(p, key) = copy;
	return 0;
}

int
profile_check_value(enum profile_key key, const char *value, char **cause)
{
	struct profile *tmp;
	char *copy;
	int rc;

	if (keys[key].type == PROFILE_TYPE_STRING && *value != '\0') {
		copy = xstrdup(value);
		rc = check_string(&keys[key], copy, cause);
		free_secret(copy);
		return rc;
	}
	tmp = profile_new(NULL);
	rc = profile_set(tmp, key, value, cause);
	profile_free(tmp);
	return rc;
}

char *
profile_get(const struct profile *p, enum profile_key key)
{
	const struct key_info *ki = &keys[key];
	char *out, *next;

	switch (ki->type) {
	case PROFILE_TYPE_BOOL:
		return xstrdup(bool_field_c(p, key) ? "true" : "false");
	case PROFILE_TYPE_INT:
		return xasprintf("%d", int_field_c(p, key));
	case PROFILE_TYPE_ENUM:
		return xstrdup(ki->words[int_field_c(p, key)]);
	case PROFILE_TYPE_LIST:
		out = xstrdup("");
		for (size_t i = 0; i < p->alt_hosts_n; i++) {
			next = xasprintf("%s%s%s", out, i ? "," : "",
			    p->alt_hosts[i]);
			free(out);
			out = next;
		}
		return out;
	case PROFILE_TYPE_STRING:
		break;
	}
	return xstrdup(*str_field_c(p, key) ? *str_field_c(p, key) : "");
}

bool
profile_has(const struct profile *p, enum profile_key key)
{
	switch (keys[key].type) {
	case PROFILE_TYPE_STRING:
		return *str_field_c(p, key) != NULL;
	case PROFILE_TYPE_LIST:
		return p->alt_hosts_n > 0;
	case PROFILE_TYPE_BOOL:
	case PROFILE_TYPE_INT:
	case PROFILE_TYPE_ENUM:
		break;
	}
	return true;
}

const char *
profile_field_string(const struct profile *p, enum profile_key key)
{
	if (keys[key].type != PROFILE_TYPE_STRING)
		return NULL;
	return *str_field_c(p, key);
}

void
profile_field_set_string(struct profile *p, enum profile_key key,
    const char *value)
{
	if (keys[key].type != PROFILE_TYPE_STRING)
		return;
	free_secret(*str_field(p, key));
	*str_field(p, key) = value != NULL && *value != '\0' ?
	    xstrdup(value) : NULL;
}

int
profile_field_int(const struct profile *p, enum profile_key key)
{
	switch (keys[key].type) {
	case PROFILE_TYPE_BOOL:
		return bool_field_c(p, key);
	case PROFILE_TYPE_INT:
		return int_field_c(p, key);
	case PROFILE_TYPE_STRING:
	case PROFILE_TYPE_ENUM:
	case PROFILE_TYPE_LIST:
		break;
	}
	return 0;
}

void
profile_field_set_int(struct profile *p, enum profile_key key, int value)
{
	switch (keys[key].type) {
	case PROFILE_TYPE_BOOL:
		*bool_field(p, key) = value != 0;
		break;
	case PROFILE_TYPE_INT:
		*int_field(p, key) = value;
		break;
	case PROFILE_TYPE_STRING:
	case PROFILE_TYPE_ENUM:
	case PROFILE_TYPE_LIST:
		break;
	}
}

void
profile_tls_changed(struct profile *p, enum profile_tls old_tls)
{
	if (p->port == profile_default_port(old_tls))
		p->port = profile_default_port(p->tls);
}

/*
 * Every value checked again by the rules profile_set() applies: a profile
 * read from a database someone wrote to directly (a helo with a CRLF and a
 * command after it) is refused here, not on the wire.
 */
static void
check_values(const struct profile *p, const char *name,
    struct diag_list *errs)
{
	for (int i = 0; i < PROFILE_KEY_COUNT; i++) {
		enum profile_key k = (enum profile_key)i;
		const struct key_info *ki = &keys[k];
		char *cause = NULL, *copy;
		int v, n;

		switch (ki->type) {
		case PROFILE_TYPE_BOOL:
			continue;
		case PROFILE_TYPE_INT:
			v = int_field_c(p, k);
			if (v < ki->min || v > ki->max)
				cause = xasprintf("%d is out of range "
				    "(%d-%d)", v, ki->min, ki->max);
			break;
		case PROFILE_TYPE_ENUM:
			v = int_field_c(p, k);
			n = 0;
			while (ki->words[n] != NULL)
				n++;
			if (v < 0 || v >= n)
				cause = xasprintf("%d is not a known value", v);
			break;
		case PROFILE_TYPE_LIST:
			if (p->alt_hosts_n > PROFILE_ALT_HOSTS_MAX)
				cause = xasprintf("has %zu hosts; at most %d "
				    "allowed", p->alt_hosts_n,
				    PROFILE_ALT_HOSTS_MAX);
			for (size_t j = 0; cause == NULL &&
			    j < p->alt_hosts_n; j++)
				(void)check_alt_host(p->alt_hosts[j], &cause);
			break;
		case PROFILE_TYPE_STRING:
			/* name is checked first, by profile_validate. */
			if (k == PROFILE_KEY_NAME ||
			    *str_field_c(p, k) == NULL)
				continue;
			copy = xstrdup(*str_field_c(p, k));
			(void)check_string(ki, copy, &cause);
			free_secret(copy);
			break;
		}
		if (cause != NULL) {
			diag_add(errs, 0, 0, name, ki->name, "%s", cause);
			free(cause);
		}
	}
}

size_t
profile_validate(const struct profile *p, struct diag_list *errs)
{
	return profile_validate_partial(p, false, errs);
}

size_t
profile_validate_partial(const struct profile *p, bool password_elsewhere,
    struct diag_list *errs)
{
	const char *name = p->name;
	size_t before = errs->n;
	char *cause = NULL;
	bool plain = p->auth == PROFILE_AUTH_PLAIN ||
	    p->auth == PROFILE_AUTH_LOGIN;

	if (name == NULL)
		diag_add(errs, 0, 0, NULL, "name", "is missing");
	else if (profile_check_name(name, &cause) != 0) {
		diag_add(errs, 0, 0, NULL, "name", "%s", cause);
		free(cause);
		name = NULL;
	}
	if (p->host == NULL)
		diag_add(errs, 0, 0, name, "host", "is missing");
	check_values(p, name, errs);
	if (plain && p->username == NULL)
		diag_add(errs, 0, 0, name, "username", "is required when auth "
		    "is %s", auth_words[p->auth]);
	if (plain && p->password == NULL && !password_elsewhere)
		diag_add(errs, 0, 0, name, "password", "is required when auth "
		    "is %s", auth_words[p->auth]);
	if (plain && p->tls == PROFILE_TLS_NONE &&
	    !p->allow_plain_auth_without_tls)
		diag_add(errs, 0, 0, name, "auth", "%s would send the "
		    "password unencrypted (tls is none); use tls=explicit or "
		    "implicit, or set allow_plain_auth_without_tls=true",
		    auth_words[p->auth]);
	if (p->retry_max < p->retry_delay)
		diag_add(errs, 0, 0, name, "retry_max", "%d is below "
		    "retry_delay (%d)", p->retry_max, p->retry_delay);
	return errs->n - before;
}

static bool
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

size_t
profile_diff(const struct profile *a, const struct profile *b,
    bool changed[PROFILE_KEY_COUNT])
{
	size_t n = 0;

	for (int i = 0; i < PROFILE_KEY_COUNT; i++) {
		enum profile_key k = (enum profile_key)i;
		bool same = true;

		switch (keys[k].type) {
		case PROFILE_TYPE_STRING:
			same = str_eq(*str_field_c(a, k), *str_field_c(b, k));
			break;
		case PROFILE_TYPE_BOOL:
			same = bool_field_c(a, k) == bool_field_c(b, k);
			break;
		case PROFILE_TYPE_INT:
		case PROFILE_TYPE_ENUM:
			same = int_field_c(a, k) == int_field_c(b, k);
			break;
		case PROFILE_TYPE_LIST:
			same = a->alt_hosts_n == b->alt_hosts_n;
			for (size_t j = 0; same && j < a->alt_hosts_n; j++)
				same = str_eq(a->alt_hosts[j], b->alt_hosts[j]);
			break;
		}
		changed[k] = !same;
		if (!same)
			n++;
	}
	return n;
}

/* Global settings. */

static const char *const settings_names[SETTINGS_KEY_COUNT] = {
	[SETTINGS_KEY_ENABLED] = "enabled",
	[SETTINGS_KEY_DEFAULT_PROFILE] = "default_profile",
	[SETTINGS_KEY_SUBJECT_PARAMS] = "subject_params",
	[SETTINGS_KEY_SUBJECT_DELIMITER] = "subject_delimiter",
};

const char *
settings_key_name(enum settings_key key)
{
	return key < SETTINGS_KEY_COUNT ? settings_names[key] : "?";
}

int
settings_key_lookup(const char *name, enum settings_key *key)
{
	for (int i = 0; i < SETTINGS_KEY_COUNT; i++) {
		if (strcmp(settings_names[i], name) == 0) {
			*key = (enum settings_key)i;
			return 0;
		}
	}
	return -1;
}

enum profile_key_type
settings_key_type(enum settings_key key)
{
	switch (key) {
	case SETTINGS_KEY_ENABLED:
	case SETTINGS_KEY_SUBJECT_PARAMS:
		return PROFILE_TYPE_BOOL;
	default:
		break;
	}
	return PROFILE_TYPE_STRING;
}

void
settings_init(struct smtp_settings *s)
{
	s->enabled = true;
	s->default_profile = NULL;
	s->subject_params = false;
	s->subject_delimiter = xstrdup(SETTINGS_DEFAULT_DELIMITER);
}

void
settings_copy(struct smtp_settings *dst, const struct smtp_settings *src)
{
	dst->enabled = src->enabled;
	dst->default_profile = src->default_profile ?
	    xstrdup(src->default_profile) : NULL;
	dst->subject_params = src->subject_params;
	dst->subject_delimiter = xstrdup(src->subject_delimiter);
}

void
settings_clear(struct smtp_settings *s)
{
	free(s->default_profile);
	free(s->subject_delimiter);
	s->default_profile = s->subject_delimiter = NULL;
}

int
settings_set(struct smtp_settings *s, enum settings_key key, const char *value,
    char **cause)
{
	bool b;

	switch (key) {
	case SETTINGS_KEY_ENABLED:
	case SETTINGS_KEY_SUBJECT_PARAMS:
		if (parse_bool(value, &b) != 0) {
			char *shown = text_escape(value);

			*cause = xasprintf("'%s' is not true or false", shown);
			free(shown);
			return -1;
		}
		if (key == SETTINGS_KEY_ENABLED)
			s->enabled = b;
		else
			s->subject_params = b;
		return 0;
	case SETTINGS_KEY_DEFAULT_PROFILE:
		if (*value != '\0' && profile_check_name(value, cause) != 0)
			return -1;
		free(s->default_profile);
		s->default_profile = *value ? xstrdup(value) : NULL;
		return 0;
	case SETTINGS_KEY_SUBJECT_DELIMITER:
		if (*value == '\0') {
			*cause = xstrdup("must not be empty");
			return -1;
		}
		/* 16 characters, not bytes: the message promises characters. */
		if (!text_utf8_valid(value, strlen(value)) ||
		    text_has_control(value) || text_utf8_length(value) > 16) {
			*cause = xstrdup("must be 1-16 printable characters");
			return -1;
		}
		free(s->subject_delimiter);
		s->subject_delimiter = xstrdup(value);
		return 0;
	case SETTINGS_KEY_COUNT:
		break;
	}
	*cause = xstrdup("unknown setting");
	return -1;
}

char *
settings_get(const struct smtp_settings *s, enum settings_key key)
{
	switch (key) {
	case SETTINGS_KEY_ENABLED:
		return xstrdup(s->enabled ? "true" : "false");
	case SETTINGS_KEY_SUBJECT_PARAMS:
		return xstrdup(s->subject_params ? "true" : "false");
	case SETTINGS_KEY_DEFAULT_PROFILE:
		return xstrdup(s->default_profile ? s->default_profile : "");
	case SETTINGS_KEY_SUBJECT_DELIMITER:
		return xstrdup(s->subject_delimiter);
	case SETTINGS_KEY_COUNT:
		break;
	}
	return xstrdup("");
}

size_t
settings_diff(const struct smtp_settings *a, const struct smtp_settings *b,
    bool changed[SETTINGS_KEY_COUNT])
{
	size_t n = 0;

	changed[SETTINGS_KEY_ENABLED] = a->enabled != b->enabled;
	changed[SETTINGS_KEY_DEFAULT_PROFILE] = !str_eq(a->default_profile,
	    b->default_profile);
	changed[SETTINGS_KEY_SUBJECT_PARAMS] = a->subject_params !=
	    b->subject_params;
	changed[SETTINGS_KEY_SUBJECT_DELIMITER] = !str_eq(a->subject_delimiter,
	    b->subject_delimiter);
	for (int i = 0; i < SETTINGS_KEY_COUNT; i++)
		n += changed[i];
	return n;
}
