/*
 * store/pg_uri.c: the rules a PostgreSQL URI must pass before anything
 * connects (store/pg_int.h's pg_uri_check()), and the URI as messages show
 * it, without its password (pg_uri_shown()).
 *
 * Pure functions of the URI and of the environment libpq would read
 * (PGHOST, PGHOSTADDR, PGSSLMODE, PGSERVICE): nothing is resolved or
 * connected, so a name other than localhost counts as remote even if it
 * resolves to loopback.  It does not decide whether the server is who it
 * claims to be: sslmode=verify-full in the URI does.
 */
#include "store/pg_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xmalloc.h"

#define nitems(a)	(sizeof (a) / sizeof (a)[0])

/* Decodes %XX in s[0..len) into a new string.  Caller frees. */
static char *
uri_decode(const char *s, size_t len)
{
	char	*out = xmalloc(len + 1), *o = out, hex[3] = { 0 };
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && isxdigit((unsigned char)s[i +
		    1]) && isxdigit((unsigned char)s[i + 2])) {
			memcpy(hex, s + i + 1, 2);
			*o++ = (char)strtol(hex, NULL, 16);
			i += 2;
		} else
			*o++ = s[i];
	}
	*o = '\0';
	return out;
}

/* Appends src[0..n) at *o, which has room. */
static void
put(char **o, const char *src, size_t n)
{
	memcpy(*o, src, n);
	*o += n;
	**o = '\0';
}

char *
pg_uri_shown(const char *uri)
{
	const char	*auth, *p, *colon, *param, *end;
	char		*out, *o, *key;
	bool		 first = true;

	if ((auth = strstr(uri, "://")) == NULL)
		return xstrdup("the PostgreSQL URI");
	o = out = xmalloc(strlen(uri) + 2);
	auth += 3;
	put(&o, uri, (size_t)(auth - uri));
	/* As libpq reads it: user[:password]@ ends at the first '@' or '/'. */
	p = auth + strcspn(auth, "@/");
	if (*p == '@') {
		colon = memchr(auth, ':', (size_t)(p - auth));
		put(&o, auth, (size_t)((colon != NULL ? colon : p) - auth));
		put(&o, "@", 1);
		auth = p + 1;
	}
	/* The rest up to the query, then each parameter but password=. */
	put(&o, auth, strcspn(auth, "?"));
	if ((param = strchr(auth, '?')) == NULL)
		return out;
	for (param++; *param != '\0'; param = *end != '\0' ? end + 1 : end) {
		end = param + strcspn(param, "&");
		key = uri_decode(param, strcspn(param, "=&"));
		if (strcmp(key, "password") != 0 && end > param) {
			put(&o, first ? "?" : "&", 1);
			put(&o, param, (size_t)(end - param));
			first = false;
		}
		free(key);
	}
	return out;
}

/* Whether a TCP target (a host name or a numeric address) is loopback. */
static bool
host_loopback(const char *host)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		if (IN6_IS_ADDR_LOOPBACK(&a6))
			return true;
		return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
	}
	return false;
}

/* sslmode's rank: 0 disable, 1 allow, 2 prefer, 3 require, ...; -1 unknown. */
static int
sslmode_rank(const char *mode)
{
	static const char *const modes[] = { "disable", "allow", "prefer",
	    "require", "verify-ca", "verify-full" };
	size_t	i;

	for (i = 0; i < nitems(modes); i++) {
		if (strcmp(mode, modes[i]) == 0)
			return (int)i;
	}
	return -1;
}

/* The value of keyword in a PQconninfoParse() result, or NULL. */
static const char *
opt_value(const PQconninfoOption *opts, const char *keyword)
{
	for (; opts->keyword != NULL; opts++) {
		if (strcmp(opts->keyword, keyword) == 0)
			return opts->val != NULL && *opts->val != '\0' ?
			    opts->val : NULL;
	}
	return NULL;
}

/* The URI's value, else the environment's, as libpq takes them. */
static const char *
opt_or_env(const PQconninfoOption *opts, const char *keyword,
    const char *env)
{
	const char	*v;

	if ((v = opt_value(opts, keyword)) != NULL)
		return v;
	v = getenv(env);
	return v != NULL && *v != '\0' ? v : NULL;
}

/* The n-th item (from 0) of a comma-separated list, "" past its end. */
static char *
list_item(const char *list, size_t n)
{
	size_t	len;

	if (list == NULL)
		return xstrdup("");
	for (; n > 0; n--) {
		list += strcspn(list, ",");
		if (*list == '\0')
			return xstrdup("");
		list++;
	}
	len = strcspn(list, ",");
	return xstrndup(list, len);
}

static size_t
list_len(const char *list)
{
	size_t	n = 1;

	if (list == NULL)
		return 0;
	for (; *list != '\0'; list++)
		n += *list == ',';
	return n;
}

/*
 * A libpq message about the URI without the parts it quotes, which may be
 * pieces of the password.  Caller frees.
 */
static char *
uri_error(const char *err)
{
	size_t	len;

	if (err == NULL)
		return xstrdup("it cannot be parsed");
	len = strcspn(err, "\"\n");
	while (len > 0 && (err[len - 1] == ' ' || err[len - 1] == ':'))
		len--;
	return len > 0 ? xstrndup(err, len) : xstrdup("it cannot be parsed");
}

int
pg_uri_check(const char *uri, char **cause)
{
	PQconninfoOption	*opts;
	const char		*hosts, *addrs, *mode;
	char			*err = NULL, *why, *shown, *host, *addr;
	size_t			 n, i;
	int			 rank, status = STORE_OK;

	shown = pg_uri_shown(uri);
	if ((opts = PQconninfoParse(uri, &err)) == NULL) {
		why = uri_error(err);
		store_set_cause(cause, "%s is not a valid PostgreSQL URI (%s); "
		    "write it as postgresql://USER@HOST/DATABASE?sslmode="
		    "verify-full", shown, why);
		free(why);
		PQfreemem(err);
		free(shown);
		return STORE_BADFILE;
	}
	hosts = opt_or_env(opts, "host", "PGHOST");
	addrs = opt_or_env(opts, "hostaddr", "PGHOSTADDR");
	mode = opt_value(opts, "sslmode");
	if (mode == NULL && (mode = getenv("PGSSLMODE")) != NULL &&
	    *mode == '\0')
		mode = NULL;
	if (mode == NULL)
		mode = "prefer";	/* libpq's default */
	if ((rank = sslmode_rank(mode)) < 0) {
		store_set_cause(cause, "%s: sslmode '%s' is not one libpq "
		    "knows; use require, verify-ca or verify-full", shown,
		    mode);
		status = STORE_BADFILE;
		goto out;
	}
	if (rank >= 3)
		goto out;
	/*
	 * A service file may send the connection anywhere, and this check
	 * cannot see where: with one, only TLS is safe.
	 */
	if (opt_or_env(opts, "service", "PGSERVICE") != NULL) {
		store_set_cause(cause, "%s names a service, whose host this "
		    "program cannot check, without sslmode=require or "
		    "stronger; refusing to risk sending the password in clear. "
		    " Name the host in the URI, or add sslmode=verify-full",
		    shown);
		status = STORE_PERM;
		goto out;
	}
	/* hostaddr, where given, is where TCP goes; host then only names it. */
	n = list_len(addrs) > list_len(hosts) ? list_len(addrs) :
	    list_len(hosts);
	for (i = 0; i < n && status == STORE_OK; i++) {
		host = list_item(hosts, i);
		addr = list_item(addrs, i);
		if (*addr != '\0' ? !host_loopback(addr) :
		    *host != '\0' && *host != '/' && *host != '@' &&
		    !host_loopback(host)) {
			store_set_cause(cause, "%s would send the password to "
			    "%s over TCP without TLS (sslmode %s); refusing. "
			    " Add sslmode=verify-full (or require) to the URI, "
			    "or use a Unix socket or loopback", shown,
			    *addr != '\0' ? addr : host, mode);
			status = STORE_PERM;
		}
		free(host);
		free(addr);
	}
out:
	PQconninfoFree(opts);
	free(shown);
	return status;
}

