/*
 * core/profile.h: the SMTP profile (Gateway's "SMTP site") and the global SMTP
 * settings: their keys, defaults, text forms and validation.
 *
 * Every front end (gwadmin set, import codecs, the menu) goes through this
 * module, so a value is accepted or refused with the same words everywhere.
 * It knows nothing of files or terminals, and of storage only the name of
 * the column a database keeps each key in, so that every store backend
 * takes its columns from the one key table.
 */
#ifndef GWSMTP_CORE_PROFILE_H
#define GWSMTP_CORE_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/diag.h"

#define PROFILE_NAME_MAX	31
/* The password key's limit, in characters. */
#define PROFILE_PASSWORD_MAX	1024
#define PROFILE_ALT_HOSTS_MAX	3

enum profile_tls {
	PROFILE_TLS_NONE,
	PROFILE_TLS_EXPLICIT,
	PROFILE_TLS_IMPLICIT
};

enum profile_starttls {
	PROFILE_STARTTLS_MANDATORY,
	PROFILE_STARTTLS_OPTIONAL
};

enum profile_tls_min {
	PROFILE_TLS_MIN_1_2,
	PROFILE_TLS_MIN_1_3
};

enum profile_auth {
	PROFILE_AUTH_NONE,
	PROFILE_AUTH_PLAIN,
	PROFILE_AUTH_LOGIN,
	PROFILE_AUTH_ANONYMOUS
};

/* The keys, in SPEC section 3's order, which is also export's order. */
enum profile_key {
	PROFILE_KEY_NAME,
	PROFILE_KEY_ACTIVE,
	PROFILE_KEY_HOST,
	PROFILE_KEY_PORT,
	PROFILE_KEY_ALT_HOSTS,
	PROFILE_KEY_TLS,
	PROFILE_KEY_STARTTLS,
	PROFILE_KEY_VERIFY,
	PROFILE_KEY_CA_FILE,
	PROFILE_KEY_FINGERPRINT,
	PROFILE_KEY_TLS_MIN,
	PROFILE_KEY_AUTH,
	PROFILE_KEY_USERNAME,
	PROFILE_KEY_PASSWORD,
	PROFILE_KEY_TRACE,
	PROFILE_KEY_ALLOW_PLAIN_AUTH_WITHOUT_TLS,
	PROFILE_KEY_FROM,
	PROFILE_KEY_TO,
	PROFILE_KEY_HELO,
	PROFILE_KEY_TIMEOUT,
	PROFILE_KEY_RETRIES,
	PROFILE_KEY_RETRY_DELAY,
	PROFILE_KEY_RETRY_MAX,
	PROFILE_KEY_MAX_CONNECTIONS,
	PROFILE_KEY_COMMENT,
	PROFILE_KEY_COUNT
};

/* How a key's value is written in a JSON profile file. */
enum profile_key_type {
	PROFILE_TYPE_STRING,	/* free text or a syntax-checked string */
	PROFILE_TYPE_ENUM,	/* one of a few words */
	PROFILE_TYPE_BOOL,
	PROFILE_TYPE_INT,
	PROFILE_TYPE_LIST	/* array of strings */
};

/*
 * A profile.  Callers fill it in, so it is not opaque.  Unset optional
 * strings are NULL, never "".  The port is always concrete: a new profile
 * starts at the default port of its TLS mode (see profile_tls_changed()).
 */
struct profile {
	char			*name;
	bool			 active;
	char			*host;
	int			 port;
	char			*alt_hosts[PROFILE_ALT_HOSTS_MAX];
	size_t			 alt_hosts_n;
	enum profile_tls	 tls;
	enum profile_starttls	 starttls;
	bool			 verify;
	char			*ca_file;
	char			*fingerprint;
	enum profile_tls_min	 tls_min;
	enum profile_auth	 auth;
	char			*username;
	char			*password;	/* secret: wiped on free */
	char			*trace;
	bool			 allow_plain_auth_without_tls;
	char			*from;
	char			*to;
	char			*helo;
	int			 timeout;
	int			 retries;
	int			 retry_delay;
	int			 retry_max;
	int			 max_connections;
	char			*comment;
	/* Store revision it was read at; 0 for a profile never stored. */
	long long		 revision;
};

/* Key table. */
const char		*profile_key_name(enum profile_key key);
/* Returns 0 and sets *key, or -1 if name is not a profile key. */
int			 profile_key_lookup(const char *name, enum profile_key *key);
enum profile_key_type	 profile_key_type(enum profile_key key);
bool			 profile_key_secret(enum profile_key key);
/* One line for help texts: type and range, e.g. "1-65535". */
const char		*profile_key_help(enum profile_key key);
/*
 * The key's column in a database table: its name, but from_addr and
 * to_addr for from and to, which are SQL keywords.
 */
const char		*profile_key_column(enum profile_key key);

const char	*profile_tls_name(enum profile_tls tls);
const char	*profile_auth_name(enum profile_auth auth);
int		 profile_default_port(enum profile_tls tls);

/* A profile with every default (name may be NULL).  Never returns NULL. */
struct profile	*profile_new(const char *name);
struct profile	*profile_dup(const struct profile *p);
/* Wipes the password.  NULL is a no-op. */
void		 profile_free(struct profile *p);

/*
 * Sets one key from its text form, as typed after KEY= on the command line
 * or in a menu field: booleans take true/false, yes/no, on/off, 1/0; lists
 * take comma-separated items; "" unsets an optional string.  Checks the value
 * on its own (type, range, syntax); rules between keys are
 * profile_validate()'s.  On error returns -1, leaves p unchanged and sets
 * *cause to a reason without the key's name (the caller adds where).
 */
int	 profile_set(struct profile *p, enum profile_key key, const char *value,
	     char **cause);
/* The list form, for JSON arrays.  Same contract as profile_set(). */
int	 profile_set_list(struct profile *p, enum profile_key key,
	     const char *const *items, size_t n, char **cause);
/*
 * The text form of a key's value, as profile_set() takes it: "" for unset.
 * The password comes back as it is; masking is the caller's business.
 * Caller frees.
 */
char	*profile_get(const struct profile *p, enum profile_key key);
/* True if the key holds something other than unset (for export). */
bool	 profile_has(const struct profile *p, enum profile_key key);

/*
 * A key's field as the struct holds it, for a store that keeps strings,
 * booleans and integers in columns of their own; enums and the host list
 * go through profile_get() and profile_set().  The string functions take
 * string keys, the int ones boolean (0 or 1) and integer keys; other keys
 * read as NULL or 0 and are not written.  Nothing is checked: a value read
 * back from a database is profile_validate()'s to judge, like any other.
 */
/* NULL when unset; borrowed from p. */
const char	*profile_field_string(const struct profile *p,
		     enum profile_key key);
/* Copies value; NULL or "" unsets.  The old value is wiped. */
void		 profile_field_set_string(struct profile *p,
		     enum profile_key key, const char *value);
int		 profile_field_int(const struct profile *p,
		     enum profile_key key);
void		 profile_field_set_int(struct profile *p, enum profile_key key,
		     int value);

/*
 * Call after changing tls when the port was not given in the same change:
 * a port that was at the old mode's default moves to the new mode's default;
 * a port the administrator chose is kept.
 */
void	 profile_tls_changed(struct profile *p, enum profile_tls old_tls);

/*
 * Rules between keys and required keys: host present, username and password
 * for PLAIN and LOGIN, no PLAIN/LOGIN without TLS unless allowed, and so on.
 * Adds one diag per problem (line and column 0) and returns how many.
 */
size_t	 profile_validate(const struct profile *p, struct diag_list *errs);
/*
 * The same, but a missing password is not an error when password_elsewhere:
 * an import file that leaves the password out (as export does by default)
 * keeps the stored one, and the importer validates again once it has it.
 */
size_t	 profile_validate_partial(const struct profile *p,
	     bool password_elsewhere, struct diag_list *errs);

/*
 * Marks in changed[] the keys whose values differ and returns how many.
 * Revision is not a key and is not compared.
 */
size_t	 profile_diff(const struct profile *a, const struct profile *b,
	     bool changed[PROFILE_KEY_COUNT]);

/*
 * Whether value is one profile_set() would take for key, without a profile
 * to set it in (addresses of a queued message are checked as from/to).
 * 0, or -1 with *cause.
 */
int	 profile_check_value(enum profile_key key, const char *value,
	     char **cause);

/* Syntax checks shared with the settings and the codecs.  0 or -1 + cause. */
int	 profile_check_name(const char *name, char **cause);
int	 profile_check_host(const char *host, char **cause);

/* The global SMTP settings: the SMTP screen's own fields. */
enum settings_key {
	SETTINGS_KEY_ENABLED,
	SETTINGS_KEY_DEFAULT_PROFILE,
	SETTINGS_KEY_SUBJECT_PARAMS,
	SETTINGS_KEY_SUBJECT_DELIMITER,
	SETTINGS_KEY_COUNT
};

#define SETTINGS_DEFAULT_DELIMITER	"//XFB"

struct smtp_settings {
	bool	 enabled;
	char	*default_profile;	/* NULL: none */
	bool	 subject_params;
	char	*subject_delimiter;	/* never NULL once initialised */
};

const char		*settings_key_name(enum settings_key key);
int			 settings_key_lookup(const char *name, enum settings_key *key);
enum profile_key_type	 settings_key_type(enum settings_key key);
/* Fills s with the defaults (it owns nothing before). */
void	 settings_init(struct smtp_settings *s);
/* dst owns nothing before (uninitialised or cleared). */
void	 settings_copy(struct smtp_settings *dst, const struct smtp_settings *src);
void	 settings_clear(struct smtp_settings *s);
/* Same contract as profile_set(). */
int	 settings_set(struct smtp_settings *s, enum settings_key key,
	     const char *value, char **cause);
char	*settings_get(const struct smtp_settings *s, enum settings_key key);
size_t	 settings_diff(const struct smtp_settings *a,
	     const struct smtp_settings *b, bool changed[SETTINGS_KEY_COUNT]);

#endif
