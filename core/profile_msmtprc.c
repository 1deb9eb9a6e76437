/*
 * core/profile_msmtprc.c: reads msmtp's configuration file (~/.msmtprc) into
 * profiles, so that msmtp users can move over.
 *
 * The syntax is msmtp's: one command per line, a '#' starts a comment only
 * as the first non-blank character of a line (so "password a#b" is the
 * password "a#b"), blanks around the argument are dropped, and a pair of
 * double quotes around it keeps blanks; inside them \" and \\ stand for "
 * and \ (any other backslash is kept as it is).  CRLF line endings, a UTF-8
 * byte order mark and lines of any length are accepted.
 *
 * The semantics are msmtp's too: "defaults" sections accumulate and apply to
 * the accounts defined after them; "account b : a" starts from the defaults,
 * then takes what a set (itself or from its parents, not a's defaults); the
 * account "default" becomes the profile "default" and the default profile.
 * The port is carried over as msmtp used it: without a port command that is
 * 25, or 465 for TLS without STARTTLS.  gwsmtp's own default for explicit
 * TLS is 587, so an imported STARTTLS account without a port keeps port 25.
 * A TLS setting (trust file, fingerprint, certcheck) on an account without
 * TLS is dropped, as msmtp ignores it; tls_certcheck off overrides the trust
 * file and the fingerprint, and a fingerprint overrides the trust file, as in
 * msmtp since 1.8.2.  "tls_trust_file system" or an empty one means the
 * system trust store (msmtp's empty value, "no CA", only works with a
 * fingerprint or without certcheck, and then the CAs are not used anyway).
 *
 * Every error is reported in one pass, in file order.  An account with a
 * refused value, or a refused or repeated name, is still built and checked
 * as a whole, without the rules about what was refused (they would repeat
 * it); one whose settings are not all known (a line that cannot be read, a
 * parent not defined before it) is not.  Account names are looked up in a
 * hash index, so that many thousands of accounts read in linear time.
 *
 * What it is not: an msmtp.  Commands about the message or the local side
 * (logging, aliases, header rewriting, DSN) are skipped with a warning.
 * Commands that change how msmtp talks to the server but that gwsmtp cannot
 * honour (passwordeval, client certificates, proxies, LMTP, ...) are errors,
 * unless their argument is empty, which turns them off.  auth on (msmtp picks
 * a method per server) becomes PLAIN, with a warning.  Nothing here runs a
 * command or reads a file named in the configuration; a leading '~' in
 * tls_trust_file is expanded with $HOME as msmtp does, and a trust "file"
 * that is a directory is refused.
 */
#include "core/profile_file.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/text.h"
#include "core/xmalloc.h"

/* The msmtp settings that become profile keys. */
enum mfield {
	MF_HOST,
	MF_PORT,
	MF_TIMEOUT,
	MF_DOMAIN,
	MF_FROM,
	MF_AUTH,
	MF_USER,
	MF_PASSWORD,
	MF_TLS,
	MF_STARTTLS,
	MF_CERTCHECK,
	MF_TRUST_FILE,
	MF_FINGERPRINT,
	MF_COUNT
};

/*
 * One setting: its value in the text form profile_set() takes ("on"/"off"
 * for msmtp's switches), NULL for msmtp's default, and where it was set.
 */
struct mvalue {
	char	*s;
	int	 line;
	int	 column;
	bool	 bad;		/* refused where it was set */
};

/* An account or the defaults section. */
struct macct {
	char		*name;		/* NULL: defaults, or none */
	bool		 name_ok;	/* false: refused, not in diags */
	int		 line;
	int		 column;
	/*
	 * False for the defaults, and for an account whose settings are not
	 * all known (a line of it unreadable, a parent undefined): it is not
	 * checked as a whole, which would only mislead.
	 */
	bool		 import;
	bool		 given[MF_COUNT]; /* msmtp's mask: set here */
	struct mvalue	 v[MF_COUNT];
};

enum cmd_kind {
	CMD_DEFAULTS,
	CMD_ACCOUNT,
	CMD_STRING,		/* a value for field/key as it is */
	CMD_HOST,
	CMD_PORT,
	CMD_TIMEOUT,
	CMD_SWITCH,		/* on/off, empty is on */
	CMD_SWITCH_OFF,		/* old tls_nocertcheck, tls_nostarttls */
	CMD_AUTH,
	CMD_TRUST_FILE,
	CMD_FINGERPRINT,
	CMD_PROTOCOL,
	CMD_IGNORED,		/* a warning, import proceeds */
	CMD_REFUSED		/* an error unless the argument is empty */
};

struct command {
	const char		*name;
	enum cmd_kind		 kind;
	enum mfield		 field;
	enum profile_key	 key;
	const char		*why;	/* IGNORED, REFUSED: why */
};

static const struct command commands[] = {
	{ "defaults", CMD_DEFAULTS, 0, 0, NULL },
	{ "account", CMD_ACCOUNT, 0, 0, NULL },
	{ "host", CMD_HOST, MF_HOST, PROFILE_KEY_HOST, NULL },
	{ "port", CMD_PORT, MF_PORT, PROFILE_KEY_PORT, NULL },
	{ "timeout", CMD_TIMEOUT, MF_TIMEOUT, PROFILE_KEY_TIMEOUT, NULL },
	{ "connect_timeout", CMD_TIMEOUT, MF_TIMEOUT, PROFILE_KEY_TIMEOUT,
	    NULL },
	{ "domain", CMD_STRING, MF_DOMAIN, PROFILE_KEY_HELO, NULL },
	{ "from", CMD_STRING, MF_FROM, PROFILE_KEY_FROM, NULL },
	{ "user", CMD_STRING, MF_USER, PROFILE_KEY_USERNAME, NULL },
	{ "password", CMD_STRING, MF_PASSWORD, PROFILE_KEY_PASSWORD, NULL },
	{ "auth", CMD_AUTH, MF_AUTH, PROFILE_KEY_AUTH, NULL },
	{ "tls", CMD_SWITCH, MF_TLS, PROFILE_KEY_TLS, NULL },
	{ "tls_starttls", CMD_SWITCH, MF_STARTTLS, PROFILE_KEY_TLS, NULL },
	{ "tls_nostarttls", CMD_SWITCH_OFF, MF_STARTTLS, PROFILE_KEY_TLS,
	    NULL },
	{ "tls_certcheck", CMD_SWITCH, MF_CERTCHECK, PROFILE_KEY_VERIFY,
	    NULL },
	{ "tls_nocertcheck", CMD_SWITCH_OFF, MF_CERTCHECK, PROFILE_KEY_VERIFY,
	    NULL },
	{ "tls_trust_file", CMD_TRUST_FILE, MF_TRUST_FILE,
	    PROFILE_KEY_CA_FILE, NULL },
	{ "tls_fingerprint", CMD_FINGERPRINT, MF_FINGERPRINT,
	    PROFILE_KEY_FINGERPRINT, NULL },
	{ "protocol", CMD_PROTOCOL, 0, 0, NULL },

	{ "logfile", CMD_IGNORED, 0, 0, "gwengine logs each message itself "
	    "(stderr or syslog)" },
	{ "logfile_time_format", CMD_IGNORED, 0, 0, "gwengine logs each "
	    "message itself (stderr or syslog)" },
	{ "syslog", CMD_IGNORED, 0, 0, "gwengine logs each message itself "
	    "(stderr or syslog)" },
	{ "aliases", CMD_IGNORED, 0, 0, "gwengine does not expand local "
	    "aliases" },
	{ "auto_from", CMD_IGNORED, 0, 0, "the sender is the profile's from "
	    "or gwengine's --from" },
	{ "maildomain", CMD_IGNORED, 0, 0, "the sender is the profile's from "
	    "or gwengine's --from" },
	{ "allow_from_override", CMD_IGNORED, 0, 0, "it concerns msmtp's "
	    "--from option" },
	{ "from_full_name", CMD_IGNORED, 0, 0, "gwengine does not rewrite "
	    "message headers" },
	{ "set_from_header", CMD_IGNORED, 0, 0, "gwengine does not rewrite "
	    "message headers" },
	{ "set_date_header", CMD_IGNORED, 0, 0, "gwengine does not rewrite "
	    "message headers" },
	{ "set_msgid_header", CMD_IGNORED, 0, 0, "gwengine does not rewrite "
	    "message headers" },
	{ "add_missing_from_header", CMD_IGNORED, 0, 0, "gwengine does not "
	    "rewrite message headers" },
	{ "add_missing_date_header", CMD_IGNORED, 0, 0, "gwengine does not "
	    "rewrite message headers" },
	{ "remove_bcc_headers", CMD_IGNORED, 0, 0, "gwengine does not "
	    "rewrite message headers" },
	{ "keepbcc", CMD_IGNORED, 0, 0, "gwengine does not rewrite message "
	    "headers" },
	{ "undisclosed_recipients", CMD_IGNORED, 0, 0, "gwengine does not "
	    "rewrite message headers" },
	{ "dsn_notify", CMD_IGNORED, 0, 0, "gwengine requests no delivery "
	    "status notifications" },
	{ "dsn_return", CMD_IGNORED, 0, 0, "gwengine requests no delivery "
	    "status notifications" },
	/* Cipher tuning: gwsmtp has tls_min and GnuTLS's system policy. */
	{ "tls_priorities", CMD_IGNORED, 0, 0, "gwengine uses the system's "
	    "GnuTLS priorities with TLS 1.2 or later (see tls_min)" },
	{ "tls_force_sslv3", CMD_IGNORED, 0, 0, "msmtp itself ignores it "
	    "since version 1.6.0" },

	{ "passwordeval", CMD_REFUSED, 0, 0, "gwsmtp runs no command for the "
	    "password: give it with 'password' for the import" },
	{ "eval", CMD_REFUSED, 0, 0, "gwsmtp runs no command from an imported "
	    "file" },
	{ "ntlmdomain", CMD_REFUSED, 0, 0, "NTLM authentication is not "
	    "supported (PLAIN, LOGIN, ANONYMOUS)" },
	{ "tls_cert_file", CMD_REFUSED, 0, 0, "gwsmtp sends no TLS client "
	    "certificate" },
	{ "tls_key_file", CMD_REFUSED, 0, 0, "gwsmtp sends no TLS client "
	    "certificate" },
	{ "tls_crl_file", CMD_REFUSED, 0, 0, "gwsmtp does not check "
	    "certificate revocation lists" },
	{ "tls_host_override", CMD_REFUSED, 0, 0, "gwsmtp always checks the "
	    "certificate against the host it connects to" },
	{ "tls_min_dh_prime_bits", CMD_REFUSED, 0, 0, "gwsmtp cannot lower "
	    "the Diffie-Hellman prime size the TLS library accepts" },
	{ "proxy_host", CMD_REFUSED, 0, 0, "gwsmtp does not connect through a "
	    "SOCKS proxy" },
	{ "proxy_port", CMD_REFUSED, 0, 0, "gwsmtp does not connect through a "
	    "SOCKS proxy" },
	{ "socket", CMD_REFUSED, 0, 0, "gwsmtp connects over TCP only, not "
	    "through a local socket" },
	{ "source_ip", CMD_REFUSED, 0, 0, "gwsmtp does not bind to a source "
	    "address" },
};

/* msmtp's methods that gwsmtp does not speak. */
static const char *const unsupported_auth[] = {
	"cram-md5", "digest-md5", "scram-sha-1", "scram-sha-1-plus",
	"scram-sha-256", "scram-sha-256-plus", "gssapi", "external", "ntlm",
	"oauthbearer", "xoauth2", NULL
};

struct reader {
	struct profile_file	*f;
	struct diag_list	*errs;
	struct macct		 defaults;
	struct macct		**accts;	/* in file order */
	size_t			 n;
	size_t			 cap;
	struct profile_names	 names;		/* of accts, to their index */
	struct macct		*cur;	/* NULL before any section */
	bool			 saw_account;
	int			 line;
};

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* 1-based column, in characters, of s[off] on a valid UTF-8 line. */
static int
column_of(const char *s, size_t off)
{
	int col = 1;

	for (size_t i = 0; i < off; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			col++;
	}
	return col;
}

/*
 * An argument as msmtp reads it: blanks around it dropped, then a pair of
 * double quotes around it removed, inside which \" and \\ are unescaped.
 * A lone or unbalanced quote is kept, as msmtp keeps it.  Caller frees.
 */
static char *
unquote(const char *s, size_t len)
{
	char *out;
	size_t o = 0;

	while (len > 0 && is_blank(*s)) {
		s++;
		len--;
	}
	while (len > 0 && is_blank(s[len - 1]))
		len--;
	if (len < 2 || s[0] != '"' || s[len - 1] != '"')
		return xstrndup(s, len);
	s++;
	len -= 2;
	out = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len &&
		    (s[i + 1] == '"' || s[i + 1] == '\\'))
			i++;
		out[o++] = s[i];
	}
	out[o] = '\0';
	return out;
}

static void
macct_clear(struct macct *a)
{
	free(a->name);
	for (int i = 0; i < MF_COUNT; i++)
		free_secret(a->v[i].s);
	memset(a, 0, sizeof *a);
}

/*
 * msmtp's override: copies the values src set itself (its mask) and adds
 * them to dst's mask.  With all, copies every value and leaves the mask, as
 * a new account starts from the defaults.
 */
static void
macct_override(struct macct *dst, const struct macct *src, bool all)
{
	for (int i = 0; i < MF_COUNT; i++) {
		if (!all && !src->given[i])
			continue;
		free_secret(dst->v[i].s);
		dst->v[i] = src->v[i];
		dst->v[i].s = src->v[i].s ? xstrdup(src->v[i].s) : NULL;
		if (!all)
			dst->given[i] = true;
	}
}

static const char *
cur_name(const struct reader *r)
{
	return r->cur != NULL && r->cur->name_ok ? r->cur->name : NULL;
}

/* The first account of that name, refused names included. */
static struct macct *
find_account(const struct reader *r, const char *name)
{
	size_t i;

	return profile_names_find(&r->names, name, &i) ? r->accts[i] : NULL;
}

/* A new section: a copy of the current defaults, in file order. */
static struct macct *
new_account(struct reader *r, char *name, int column)
{
	struct macct *a = xcalloc(1, sizeof *a);
	size_t i = r->n;

	macct_override(a, &r->defaults, true);
	a->name = name;
	a->name_ok = name != NULL;
	a->line = r->line;
	a->column = column;
	a->import = name != NULL;
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 8;
		r->accts = xreallocarray(r->accts, r->cap, sizeof *r->accts);
	}
	r->accts[r->n++] = a;
	/* A second account of a name is refused, so the first one stays. */
	if (name != NULL)
		(void)profile_names_add(&r->names, name, &i);
	r->cur = a;
	r->saw_account = true;
	return a;
}

static void
set_value(struct reader *r, enum mfield field, char *s, int column, bool bad)
{
	struct mvalue *v = &r->cur->v[field];

	free_secret(v->s);
	v->s = s;
	v->line = r->line;
	v->column = column;
	v->bad = bad;
	r->cur->given[field] = true;
}

/*
 * Checks value for key on its own, as profile_set() will take it, and
 * reports a refusal at the command.  msmtp's "a # b" is no comment: say so
 * when that may be why.
 */
static bool
check_value(struct reader *r, const char *cmd, enum profile_key key,
    const char *value, int column)
{
	struct profile *scratch = profile_new(NULL);
	char *cause = NULL;
	int rc;

	rc = profile_set(scratch, key, value, &cause);
	profile_free(scratch);
	if (rc == 0)
		return true;
	diag_add(r->errs, r->line, column, cur_name(r), cmd, "%s%s", cause,
	    strstr(value, " #") != NULL || strstr(value, "\t#") != NULL ?
	    " ('#' starts a comment only at the beginning of a line)" : "");
	free(cause);
	return false;
}

/* Stores a checked value; s is taken. */
static void
store_checked(struct reader *r, const struct command *c, char *s, int column)
{
	bool ok = check_value(r, c->name, c->key, s, column);

	set_value(r, c->field, s, column, !ok);
}

static bool
parse_switch(struct reader *r, const char *cmd, const char *arg, int column,
    bool *on)
{
	if (*arg == '\0' || strcmp(arg, "on") == 0)
		*on = true;
	else if (strcmp(arg, "off") == 0)
		*on = false;
	else {
		char *shown = text_escape(arg);

		diag_add(r->errs, r->line, column, cur_name(r), cmd,
		    "'%s' is not on or off", shown);
		free(shown);
		return false;
	}
	return true;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * msmtp's fingerprint, "01:23:...:EF" (SHA-256, SHA-1 or MD5), as gwsmtp's
 * "sha256:" and 64 lowercase hex digits.  Returns NULL with *cause set.
 */
static char *
convert_fingerprint(const char *arg, char **cause)
{
	size_t len = strlen(arg), bytes;
	char *out, *o;

	if ((len + 1) % 3 != 0)
		goto invalid;
	bytes = (len + 1) / 3;
	for (size_t i = 0; i < bytes; i++) {
		if (hexval(arg[3 * i]) < 0 || hexval(arg[3 * i + 1]) < 0)
			goto invalid;
		if (i + 1 < bytes && arg[3 * i + 2] != ':')
			goto invalid;
	}
	if (bytes == 20 || bytes == 16) {
		*cause = xasprintf("is %s fingerprint: only SHA-256 "
		    "fingerprints can be carried over (msmtp --serverinfo "
		    "--tls --tls-certcheck=off shows it)",
		    bytes == 20 ? "a SHA-1" : "an MD5");
		return NULL;
	}
	if (bytes != 32)
		goto invalid;
	out = o = xmalloc(7 + 64 + 1);
	memcpy(o, "sha256:", 7);
	o += 7;
	for (size_t i = 0; i < bytes; i++) {
		*o++ = "0123456789abcdef"[hexval(arg[3 * i])];
		*o++ = "0123456789abcdef"[hexval(arg[3 * i + 1])];
	}
	*o = '\0';
	return out;

invalid:
	*cause = xstrdup("is not a fingerprint of the form 01:23:...:EF "
	    "(32 hex pairs for SHA-256)");
	return NULL;
}

/* "account NAME [: PARENT[, PARENT...]]". */
static void
cmd_account(struct reader *r, const char *arg, int column, int name_column)
{
	const char *colon = strchr(arg, ':'), *p;
	char *name, *cause = NULL, *shown;
	struct macct *a, *dup;
	bool ok = true;

	name = colon ? unquote(arg, (size_t)(colon - arg)) : xstrdup(arg);
	if (*name == '\0') {
		diag_add(r->errs, r->line, name_column, NULL, NULL,
		    "missing account name");
		free(name);
		name = NULL;
		ok = false;
	} else if (profile_check_name(name, &cause) != 0) {
		shown = text_escape(name);
		diag_add(r->errs, r->line, name_column, NULL, NULL,
		    "account name '%s'%s %s", shown, cause[0] == '\'' ? ":" :
		    "", cause);
		free(shown);
		free(cause);
		ok = false;
	} else if ((dup = find_account(r, name)) != NULL) {
		diag_add(r->errs, r->line, column, name, NULL,
		    "account '%s' is already defined at line %d", name,
		    dup->line);
		free(name);
		name = NULL;
		ok = false;
	}
	/*
	 * A refused name is kept so that lines naming it do not cascade.  The
	 * account is still checked, without a name, so that its other errors
	 * come in the same pass.
	 */
	a = new_account(r, name, column);
	a->import = true;
	a->name_ok = ok;
	for (p = colon ? colon + 1 : NULL; p != NULL; ) {
		const char *comma = strchr(p, ',');
		char *parent = unquote(p, comma ? (size_t)(comma - p) :
		    strlen(p));
		struct macct *from;

		if (*parent == '\0') {
			diag_add(r->errs, r->line, name_column, cur_name(r),
			    NULL, "missing account name after ':' or ','");
			a->import = false;
		} else if ((from = find_account(r, parent)) == NULL ||
		    from == a) {
			shown = text_escape(parent);
			diag_add(r->errs, r->line, name_column, cur_name(r),
			    NULL, "account '%s' is not defined before this "
			    "line", shown);
			free(shown);
			/* Settings are missing: validation would mislead. */
			a->import = false;
		} else
			macct_override(a, from, false);
		free(parent);
		p = comma ? comma + 1 : NULL;
	}
}

static void
cmd_auth(struct reader *r, const struct command *c, const char *arg,
    int column)
{
	const char *method = NULL;
	char *shown, *upper;

	if (*arg == '\0' || strcmp(arg, "on") == 0) {
		diag_add(&r->f->warnings, r->line, column, cur_name(r), c->name,
		    "msmtp picks a method per server, gwsmtp needs one: "
		    "imported as PLAIN (write 'auth login' for a server that "
		    "only offers LOGIN)");
		method = profile_auth_name(PROFILE_AUTH_PLAIN);
	} else if (strcmp(arg, "off") == 0)
		method = profile_auth_name(PROFILE_AUTH_NONE);
	else if (strcmp(arg, "plain") == 0)
		method = profile_auth_name(PROFILE_AUTH_PLAIN);
	else if (strcmp(arg, "login") == 0)
		method = profile_auth_name(PROFILE_AUTH_LOGIN);
	if (method != NULL) {
		set_value(r, c->field, xstrdup(method), column, false);
		return;
	}
	for (size_t i = 0; unsupported_auth[i] != NULL; i++) {
		if (strcmp(arg, unsupported_auth[i]) != 0)
			continue;
		upper = xstrdup(arg);
		for (char *s = upper; *s != '\0'; s++) {
			if (*s >= 'a' && *s <= 'z')
				*s = (char)(*s - 'a' + 'A');
		}
		diag_add(r->errs, r->line, column, cur_name(r), c->name,
		    "authentication method %s is not supported (PLAIN, LOGIN, "
		    "ANONYMOUS)", upper);
		free(upper);
		set_value(r, c->field, NULL, column, true);
		return;
	}
	shown = text_escape(arg);
	diag_add(r->errs, r->line, column, cur_name(r), c->name, "'%s' is not "
	    "on, off or an authentication method", shown);
	free(shown);
	set_value(r, c->field, NULL, column, true);
}

static void
cmd_trust_file(struct reader *r, const struct command *c, const char *arg,
    int column)
{
	const char *home = getenv("HOME");
	struct stat sb;
	char *path;

	if (*arg == '\0' || strcmp(arg, "system") == 0) {
		set_value(r, c->field, NULL, column, false);
		return;
	}
	if (arg[0] == '~') {
		if (home == NULL || *home == '\0') {
			diag_add(r->errs, r->line, column, cur_name(r),
			    c->name, "starts with '~' but HOME is not set");
			set_value(r, c->field, NULL, column, true);
			return;
		}
		path = xasprintf("%s%s", home, arg + 1);
	} else
		path = xstrdup(arg);
	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		diag_add(r->errs, r->line, column, cur_name(r), c->name,
		    "cannot be carried over: it is a directory; gwsmtp needs "
		    "one PEM file of CA certificates");
		free(path);
		set_value(r, c->field, NULL, column, true);
		return;
	}
	store_checked(r, c, path, column);
}

static void
cmd_fingerprint(struct reader *r, const struct command *c, const char *arg,
    int column)
{
	char *fp, *cause = NULL;

	if (*arg == '\0') {
		set_value(r, c->field, NULL, column, false);
		return;
	}
	if ((fp = convert_fingerprint(arg, &cause)) == NULL) {
		diag_add(r->errs, r->line, column, cur_name(r), c->name, "%s",
		    cause);
		free(cause);
		set_value(r, c->field, NULL, column, true);
		return;
	}
	store_checked(r, c, fp, column);
}

/* One command with its unquoted argument, in the current section. */
static void
run_command(struct reader *r, const struct command *c, const char *arg,
    int column)
{
	char *shown;
	bool on;

	switch (c->kind) {
	case CMD_DEFAULTS:
	case CMD_ACCOUNT:
		break;		/* sections are the caller's */
	case CMD_STRING:
		store_checked(r, c, xstrdup(arg), column);
		break;
	case CMD_HOST:
	case CMD_PORT:
		if (*arg == '\0') {
			diag_add(r->errs, r->line, column, cur_name(r), c->name,
			    "needs an argument");
			set_value(r, c->field, NULL, column, true);
		} else
			store_checked(r, c, xstrdup(arg), column);
		break;
	case CMD_TIMEOUT:
		if (strcmp(arg, "off") == 0)
			set_value(r, c->field, NULL, column, false);
		else
			store_checked(r, c, xstrdup(arg), column);
		break;
	case CMD_SWITCH:
		if (parse_switch(r, c->name, arg, column, &on))
			set_value(r, c->field, xstrdup(on ? "on" : "off"),
			    column, false);
		else
			set_value(r, c->field, NULL, column, true);
		break;
	case CMD_SWITCH_OFF:
		if (*arg != '\0')
			diag_add(r->errs, r->line, column, cur_name(r), c->name,
			    "takes no argument");
		set_value(r, c->field, xstrdup("off"), column, *arg != '\0');
		break;
	case CMD_AUTH:
		cmd_auth(r, c, arg, column);
		break;
	case CMD_TRUST_FILE:
		cmd_trust_file(r, c, arg, column);
		break;
	case CMD_FINGERPRINT:
		cmd_fingerprint(r, c, arg, column);
		break;
	case CMD_PROTOCOL:
		if (strcmp(arg, "smtp") == 0)
			break;
		if (strcmp(arg, "lmtp") == 0) {
			diag_add(r->errs, r->line, column, cur_name(r), c->name,
			    "cannot be carried over: gwsmtp speaks SMTP, not "
			    "LMTP");
			break;
		}
		shown = text_escape(arg);
		diag_add(r->errs, r->line, column, cur_name(r), c->name,
		    "'%s' is not smtp or lmtp", shown);
		free(shown);
		break;
	case CMD_IGNORED:
		diag_add(&r->f->warnings, r->line, column, cur_name(r),
		    c->name, "ignored: %s", c->why);
		break;
	case CMD_REFUSED:
		/* An empty argument turns the feature off: nothing lost. */
		if (*arg != '\0')
			diag_add(r->errs, r->line, column, cur_name(r), c->name,
			    "cannot be carried over: %s", c->why);
		break;
	}
}

static const struct command *
find_command(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strlen(commands[i].name) == len &&
		    memcmp(commands[i].name, name, len) == 0)
			return &commands[i];
	}
	return NULL;
}

/* One line, without its end of line. */
static void
read_line(struct reader *r, const char *s, size_t len)
{
	const struct command *c;
	const char *nul;
	size_t i = 0, cmd_start, cmd_len, arg_start;
	char *arg, *shown;
	bool account_line;
	int column;

	if (len > 0 && s[len - 1] == '\r')
		len--;
	while (i < len && is_blank(s[i]))
		i++;
	cmd_start = i;
	while (i < len && !is_blank(s[i]))
		i++;
	cmd_len = i - cmd_start;
	/* "account\0..." too: a broken account line starts an account. */
	account_line = cmd_len >= 7 &&
	    memcmp(s + cmd_start, "account", 7) == 0 &&
	    (cmd_len == 7 || s[cmd_start + 7] == '\0');
	if ((nul = memchr(s, '\0', len)) != NULL) {
		diag_add(r->errs, r->line, 0, account_line ? NULL : cur_name(r),
		    NULL, "NUL byte at byte %zu of the line",
		    (size_t)(nul - s) + 1);
		goto bad_line;
	}
	/* Comments are not imported: msmtp takes any bytes there. */
	if (cmd_len == 0 || s[cmd_start] == '#')
		return;
	if (!text_utf8_valid(s, len)) {
		diag_add(r->errs, r->line, 0, account_line ? NULL : cur_name(r),
		    NULL, "is not valid UTF-8");
		goto bad_line;
	}
	column = column_of(s, cmd_start);
	if ((c = find_command(s + cmd_start, cmd_len)) == NULL) {
		char *name = xstrndup(s + cmd_start, cmd_len);

		shown = text_escape(name);
		diag_add(r->errs, r->line, column, cur_name(r), NULL,
		    "unknown command '%s'", shown);
		free(shown);
		free(name);
		return;
	}
	arg_start = i;
	while (arg_start < len && is_blank(s[arg_start]))
		arg_start++;
	arg = unquote(s + i, len - i);
	if (c->kind == CMD_DEFAULTS) {
		if (*arg != '\0')
			diag_add(r->errs, r->line, column_of(s, arg_start),
			    NULL, c->name, "takes no argument");
		r->cur = &r->defaults;
	} else if (c->kind == CMD_ACCOUNT)
		cmd_account(r, arg, column, column_of(s, arg_start));
	else if (r->cur == NULL)
		diag_add(r->errs, r->line, column, NULL, c->name,
		    "comes before any 'account' or 'defaults' line");
	else
		run_command(r, c, arg, column_of(s, arg_start));
	free_secret(arg);
	return;

bad_line:
	/*
	 * Whatever the line set is missing, so the account is not validated
	 * (that would report what is missing again), and the lines that
	 * follow a broken account line stay out of the previous account.
	 */
	if (account_line)
		(void)new_account(r, NULL, 0);
	else if (r->cur != NULL && r->cur != &r->defaults)
		r->cur->import = false;
}

/*
 * Sets key on p from a carried-over value; an error is located at line and
 * column and marks the key refused.
 */
static void
put(struct reader *r, struct profile *p, bool refused[PROFILE_KEY_COUNT],
    const char *cmd, enum profile_key key, const char *value, int line,
    int column)
{
	char *cause = NULL;

	if (profile_set(p, key, value, &cause) == 0)
		return;
	diag_add(r->errs, line, column, p->name, cmd, "%s", cause);
	free(cause);
	refused[key] = true;
}

static bool
is_off(const struct mvalue *v)
{
	return v->s != NULL && strcmp(v->s, "off") == 0;
}

/*
 * The profile for account a, added to the file whatever its errors, so that
 * the importer can check it against the store too.  A value refused where it
 * was set is left at its default, and the rules about it are not checked.
 */
static void
build(struct reader *r, struct macct *a)
{
	/* The settings taken as they are: which key, named as in msmtp. */
	static const struct {
		enum mfield		 field;
		enum profile_key	 key;
		const char		*cmd;
	} plain[] = {
		{ MF_HOST, PROFILE_KEY_HOST, "host" },
		{ MF_DOMAIN, PROFILE_KEY_HELO, "domain" },
		{ MF_FROM, PROFILE_KEY_FROM, "from" },
		{ MF_USER, PROFILE_KEY_USERNAME, "user" },
		{ MF_PASSWORD, PROFILE_KEY_PASSWORD, "password" },
		{ MF_TIMEOUT, PROFILE_KEY_TIMEOUT, "timeout" },
		{ MF_AUTH, PROFILE_KEY_AUTH, "auth" },
	};
	bool refused[PROFILE_KEY_COUNT] = { false };
	struct profile *p;
	enum profile_tls tls;
	const struct mvalue *v;
	char port[16];
	bool tls_on, verify, fingerprint;

	p = profile_new(a->name_ok ? a->name : NULL);
	refused[PROFILE_KEY_NAME] = !a->name_ok;
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		const struct command *c = &commands[i];

		if (c->kind != CMD_DEFAULTS && c->kind != CMD_ACCOUNT &&
		    c->kind != CMD_PROTOCOL && c->kind != CMD_IGNORED &&
		    c->kind != CMD_REFUSED && a->v[c->field].bad)
			refused[c->key] = true;
	}
	/* Without a TLS mode, whether auth is sent in clear is unknown. */
	if (refused[PROFILE_KEY_TLS])
		refused[PROFILE_KEY_AUTH] = true;

	/* msmtp: tls off by default, STARTTLS when on unless told not to. */
	tls_on = a->v[MF_TLS].s != NULL && strcmp(a->v[MF_TLS].s, "on") == 0;
	if (!tls_on)
		tls = PROFILE_TLS_NONE;
	else if (is_off(&a->v[MF_STARTTLS]))
		tls = PROFILE_TLS_IMPLICIT;
	else
		tls = PROFILE_TLS_EXPLICIT;
	put(r, p, refused, "tls", PROFILE_KEY_TLS, profile_tls_name(tls),
	    a->line, a->column);
	/* After tls, so that the mode's default cannot move it. */
	v = &a->v[MF_PORT];
	if (v->s != NULL && !v->bad)
		put(r, p, refused, "port", PROFILE_KEY_PORT, v->s, v->line,
		    v->column);
	else {
		snprintf(port, sizeof port, "%d",
		    tls == PROFILE_TLS_IMPLICIT ? 465 : 25);
		put(r, p, refused, "port", PROFILE_KEY_PORT, port, a->line,
		    a->column);
	}
	for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
		v = &a->v[plain[i].field];
		if (v->s != NULL && !v->bad)
			put(r, p, refused, plain[i].cmd, plain[i].key, v->s,
			    v->line, v->column);
	}
	if (tls_on) {
		verify = !is_off(&a->v[MF_CERTCHECK]);
		v = &a->v[MF_CERTCHECK];
		put(r, p, refused, "tls_certcheck", PROFILE_KEY_VERIFY,
		    verify ? "true" : "false", v->s ? v->line : a->line,
		    v->s ? v->column : a->column);
		v = &a->v[MF_FINGERPRINT];
		fingerprint = v->s != NULL || v->bad;
		if (verify && fingerprint && !v->bad)
			put(r, p, refused, "tls_fingerprint",
			    PROFILE_KEY_FINGERPRINT, v->s, v->line, v->column);
		v = &a->v[MF_TRUST_FILE];
		if (verify && !fingerprint && v->s != NULL && !v->bad)
			put(r, p, refused, "tls_trust_file",
			    PROFILE_KEY_CA_FILE, v->s, v->line, v->column);
	}

	/* As for JSON: a password left out may be the stored one's. */
	profile_file_validate(p, a->v[MF_PASSWORD].s == NULL &&
	    !a->v[MF_PASSWORD].bad, refused, a->line, a->column, r->errs);
	profile_file_add(r->f, p, a->line, a->column,
	    a->v[MF_PASSWORD].s != NULL || a->v[MF_PASSWORD].bad);
}

/* The account "default" is msmtp's default account. */
static void
set_default(struct reader *r, const struct macct *a)
{
	struct profile_file *f = r->f;
	char *cause = NULL;

	if (settings_set(&f->settings, SETTINGS_KEY_DEFAULT_PROFILE, a->name,
	    &cause) != 0) {
		diag_add(r->errs, a->line, a->column, a->name,
		    "default_profile", "%s", cause);
		free(cause);
		return;
	}
	f->has_settings = true;
	f->settings_given[SETTINGS_KEY_DEFAULT_PROFILE] = true;
	f->settings_line = a->line;
	f->settings_column = a->column;
}

int
profile_msmtprc_read(const char *buf, size_t len, struct profile_file *f,
    struct diag_list *errs)
{
	struct reader r;
	size_t before = errs->n, start = 0;

	memset(&r, 0, sizeof r);
	r.f = f;
	r.errs = errs;
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		start = 3;
	while (start < len) {
		const char *nl = memchr(buf + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - buf) : len;

		r.line++;
		read_line(&r, buf + start, end - start);
		start = end + 1;
	}
	if (!r.saw_account)
		diag_add(errs, 0, 0, NULL, NULL, "no account in the file");
	for (size_t i = 0; i < r.n; i++) {
		struct macct *a = r.accts[i];

		if (!a->import)
			continue;
		build(&r, a);
		if (a->name_ok && strcmp(a->name, "default") == 0)
			set_default(&r, a);
	}

	for (size_t i = 0; i < r.n; i++) {
		macct_clear(r.accts[i]);
		free(r.accts[i]);
	}
	free(r.accts);
	profile_names_clear(&r.names);
	macct_clear(&r.defaults);
	if (errs->n > before) {
		/* Warnings are for a file that imports. */
		diag_list_clear(&f->warnings);
		diag_sort(errs, before);
		return -1;
	}
	return 0;
}
