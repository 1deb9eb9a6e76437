/*
 * tui/cli.c: gwadmin's command line: global options, dispatch, and the
 * subcommands that work on single profiles and the settings (list, show,
 * set, delete, settings).  Import and export are in cli_import.c, copy
 * in cli_copy.c.
 *
 * Only this layer turns errors into exit codes (sysexits.h) and messages.
 * It validates nothing itself: values go through core/profile.c, so the
 * command line refuses exactly what the menu and import refuse.
 */
#include "tui/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include "core/profile.h"
#include "core/profile_file.h"
#include "core/text.h"
#include "core/xmalloc.h"
#include "store/store.h"
#include "tui/menu.h"

static const char usage_text[] =
"usage: gwadmin [--db PATH] [COMMAND [ARGS]]\n"
"\n"
"Configure the SMTP profiles that gwengine sends through.\n"
"\n"
"Commands:\n"
"  menu                         open the menu (the default without a command)\n"
"  list [--json]                list the profiles\n"
"  show NAME [--json]           show one profile (password as ********)\n"
"  set NAME KEY=VALUE... [--password-stdin]\n"
"                               create or update one profile\n"
"  delete NAME                  delete a profile\n"
"  settings [--json] [KEY=VALUE...]\n"
"                               show or change the global SMTP settings\n"
"  import [--dry-run] [--replace] [--format json|msmtprc] FILE|-\n"
"                               import profiles, all or nothing\n"
"  export [--include-secrets] [--output FILE] [NAME...]\n"
"                               write profiles as JSON (stdout by default)\n"
"  keys                         list the profile keys with their ranges\n"
"  copy --to DB                 copy the whole database (profiles with their\n"
"                               passwords, settings, audit trail, queue)\n"
"                               into an empty one, SQLite or PostgreSQL\n"
"\n"
"Options:\n"
"  --db PATH     the database: an SQLite path or a postgresql:// URI (else\n"
"                $GWSMTP_DB, else $XDG_DATA_HOME/gwsmtp/gwsmtp.db); before or\n"
"                after COMMAND\n"
"  --help        this text; 'gwadmin COMMAND --help' for one command\n"
"  --version     the version\n"
"\n"
"Exit status: 0 done, 64 usage, 65 invalid data, 66 no such profile or file,\n"
"69 the menu cannot start, 73 cannot create the output file or copy into a\n"
"database that is not empty, 74 I/O error,\n"
"75 busy or changed meanwhile, 77 permissions, 78 unusable database.\n"
"See gwadmin(1).\n";

struct command {
	const char	*name;
	int		(*fn)(const char *db, int argc, char **argv);
	const char	*usage;
};

void
cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("gwadmin: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
cli_store_failed(int status, char *cause)
{
	int code;

	switch (status) {
	case STORE_NOT_FOUND:
		code = EX_NOINPUT;
		break;
	case STORE_STALE:
	case STORE_BUSY:
		code = EX_TEMPFAIL;
		break;
	case STORE_PERM:
		code = EX_NOPERM;
		break;
	case STORE_BADFILE:
		code = EX_CONFIG;
		break;
	default:
		code = EX_IOERR;
		break;
	}
	cli_error("%s", cause ? cause : "database error");
	free(cause);
	return code;
}

int
cli_open_store(const char *path, struct store **out)
{
	char *cause = NULL, *def = NULL;
	int rc;

	if (path == NULL) {
		if ((def = store_default_path(&cause)) == NULL)
			return cli_store_failed(STORE_ERROR, cause);
		path = def;
	}
	rc = store_open(path, "gwadmin", out, &cause);
	free(def);
	if (rc != STORE_OK)
		return cli_store_failed(rc, cause);
	return 0;
}

void
cli_progress(const char *verb, const char *unit, size_t done, size_t total,
    bool show)
{
	if (!show)
		return;
	if (done < total && done % 1000 != 0)
		return;
	fprintf(stderr, "\r%s: %zu of %zu %s", verb, done, total, unit);
	if (done == total)
		fputs("\r                                                  "
		    "            \r", stderr);
	fflush(stderr);
}

/* Prints name safely, for messages about names that may be invalid. */
static char *
shown(const char *s)
{
	return text_escape(s);
}

static int
usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fputs("gwadmin: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: %s\n", usage);
	return EX_USAGE;
}

/* list */

static int
cmd_list(const char *db, int argc, char **argv)
{
	static const char usage[] = "gwadmin list [--json]";
	struct store *s = NULL;
	struct profile **v = NULL;
	struct smtp_settings set;
	bool json = false;
	size_t n = 0;
	char *cause = NULL;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else
			return usage_error(usage, "list: unexpected '%s'",
			    argv[i]);
	}
	if ((rc = cli_open_store(db, &s)) != 0)
		return rc;
	settings_init(&set);
	settings_clear(&set);
	if ((rc = store_profile_list(s, &v, &n, &cause)) != STORE_OK ||
	    (rc = store_settings_get(s, &set, &cause)) != STORE_OK) {
		rc = cli_store_failed(rc, cause);
		goto out;
	}
	if (json) {
		if (profile_json_write_list(stdout, v, n, PROFILE_SECRET_MASK,
		    &cause) != 0) {
			cli_error("%s", cause);
			free(cause);
			rc = EX_IOERR;
		}
		goto out;
	}
	if (n == 0) {
		fputs("no profiles; create one with: gwadmin set NAME "
		    "host=HOST\n", stderr);
		goto out;
	}
	printf("  %-31s %-6s %-5s %-8s %-9s %s\n", "NAME", "ACTIVE", "PORT",
	    "TLS", "AUTH", "HOST");
	for (size_t i = 0; i < n; i++) {
		char *host = shown(v[i]->host);
		bool def = set.default_profile != NULL &&
		    strcmp(set.default_profile, v[i]->name) == 0;

		printf("%c %-31s %-6s %-5d %-8s %-9s %s\n", def ? '*' : ' ',
		    v[i]->name, v[i]->active ? "yes" : "no", v[i]->port,
		    profile_tls_name(v[i]->tls), profile_auth_name(v[i]->auth),
		    host);
		free(host);
	}
	if (set.default_profile != NULL)
		puts("(* the default profile)");
out:
	if (fflush(stdout) != 0 && rc == 0) {
		cli_error("writing output: %s", strerror(errno));
		rc = EX_IOERR;
	}
	for (size_t i = 0; i < n; i++)
		profile_free(v[i]);
	free(v);
	settings_clear(&set);
	store_close(s);
	return rc;
}

/* show */

/* What an unset key means, for show. */
static const char *
unset_meaning(enum profile_key key)
{
	switch (key) {
	case PROFILE_KEY_CA_FILE:
		return "(system trust store)";
	case PROFILE_KEY_TRACE:
		return "(the from address)";
	case PROFILE_KEY_HELO:
		return "(this system's host name)";
	case PROFILE_KEY_ALT_HOSTS:
	case PROFILE_KEY_FINGERPRINT:
		return "(none)";
	default:
		break;
	}
	return "(not set)";
}

static int
cmd_show(const char *db, int argc, char **argv)
{
	static const char usage[] = "gwadmin show NAME [--json]";
	struct store *s = NULL;
	struct profile *p = NULL;
	const char *name = NULL;
	bool json = false;
	char *cause = NULL;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			return usage_error(usage, "show: unknown option '%s'",
			    argv[i]);
		else if (name == NULL)
			name = argv[i];
		else
			return usage_error(usage, "show: one NAME only");
	}
	if (name == NULL)
		return usage_error(usage, "show: which profile?");
	if ((rc = cli_open_store(db, &s)) != 0)
		return rc;
	rc = store_profile_get(s, name, &p, &cause);
	if (rc == STORE_NOT_FOUND) {
		char *n = shown(name);

		cli_error("no profile named '%s' (gwadmin list shows them)", n);
		free(n);
		rc = EX_NOINPUT;
		goto out;
	}
	if (rc != STORE_OK) {
		rc = cli_store_failed(rc, cause);
		goto out;
	}
	if (json) {
		if (profile_json_write_profile(stdout, p, PROFILE_SECRET_MASK,
		    &cause) != 0) {
			cli_error("%s", cause);
			free(cause);
			rc = EX_IOERR;
		}
		goto out;
	}
	for (int k = 0; k < PROFILE_KEY_COUNT; k++) {
		enum profile_key key = (enum profile_key)k;
		char *v;

		if (!profile_has(p, key))
			v = xstrdup(unset_meaning(key));
		else if (profile_key_secret(key))
			v = xstrdup("********");
		else {
			char *raw = profile_get(p, key);

			v = shown(raw);
			free(raw);
		}
		printf("%-29s %s\n", profile_key_name(key), v);
		free(v);
	}
out:
	if (fflush(stdout) != 0 && rc == 0) {
		cli_error("writing output: %s", strerror(errno));
		rc = EX_IOERR;
	}
	profile_free(p);
	store_close(s);
	return rc;
}

/* set */

/*
 * The most of standard input --password-stdin reads: the password key's
 * limit, PROFILE_PASSWORD_MAX characters, at up to 4 bytes each in UTF-8,
 * a line end of up to 2 bytes (\r\n), and one byte more, which tells that
 * there is too much.  Nothing past it is read, so an endless stream is
 * refused at once.
 */
#define PASSWORD_READ_MAX	(4 * PROFILE_PASSWORD_MAX + 2 + 1)

/*
 * Reads the password from standard input: all of it, which must be one
 * line, without its line end.  On a terminal, prompts with echo off and
 * reads the line typed.  Returns NULL on error (reported).  What was read
 * is wiped on every path; the caller frees the password with free_secret().
 */
static char *
read_password(const char *name)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO), full;
	char buf[PASSWORD_READ_MAX], *nl = NULL, *password = NULL;
	size_t len = 0;
	int error = 0;

	if (tty) {
		fprintf(stderr, "Password for profile '%s': ", name);
		fflush(stderr);
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		} else
			tty = false;
	}
	/* read(2), not stdio, which would read ahead past the limit. */
	while (len < sizeof buf && !(tty && nl != NULL)) {
		ssize_t n = read(STDIN_FILENO, buf + len, sizeof buf - len);

		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			error = errno;
			break;
		}
		if (nl == NULL)
			nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
	}
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	full = len == sizeof buf;
	if (nl != NULL && (size_t)(nl - buf) == len - 1)
		len--;			/* the line end, and only that */
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (error != 0)
		cli_error("--password-stdin: cannot read standard input: %s",
		    strerror(error));
	else if (full)
		cli_error("--password-stdin: too much on standard input: a "
		    "password is at most %d characters and one line end; "
		    "stopped reading after %zu bytes", PROFILE_PASSWORD_MAX,
		    sizeof buf);
	else if (len == 0 && nl == NULL)
		cli_error("--password-stdin: no password on standard input");
	else if (memchr(buf, '\n', len) != NULL)
		cli_error("--password-stdin: standard input holds more than "
		    "one line; the password is one line");
	else if (memchr(buf, '\0', len) != NULL)
		cli_error("--password-stdin: the password holds a NUL byte");
	else
		password = xstrndup(buf, len);
	explicit_bzero(buf, sizeof buf);
	return password;
}

void
cli_print_diags(const struct diag_list *list, const char *source,
    const char *prefix)
{
	for (size_t i = 0; i < list->n; i++) {
		char *line = diag_format(&list->v[i], source);

		fprintf(stderr, "gwadmin: %s%s\n", prefix, line);
		free(line);
	}
}

static int
cmd_set(const char *db, int argc, char **argv)
{
	static const char usage[] =
	    "gwadmin set NAME KEY=VALUE... [--password-stdin]";
	struct store *s = NULL;
	struct profile *p = NULL, *orig = NULL;
	struct diag_list errs = { 0 };
	const char *name = NULL, **pairs;
	bool from_stdin = false, given[PROFILE_KEY_COUNT] = { 0 };
	bool changed[PROFILE_KEY_COUNT], did_change = false, created;
	enum profile_tls old_tls;
	char *password = NULL, *cause = NULL;
	size_t npairs = 0;
	int rc;

	pairs = xcalloc((size_t)argc + 1, sizeof *pairs);
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--password-stdin") == 0)
			from_stdin = true;
		else if (argv[i][0] == '-' && argv[i][1] == '-') {
			rc = usage_error(usage, "set: unknown option '%s'",
			    argv[i]);
			goto out;
		} else if (name == NULL)
			name = argv[i];
		else
			pairs[npairs++] = argv[i];
	}
	if (name == NULL || (npairs == 0 && !from_stdin)) {
		rc = usage_error(usage, "set: %s", name == NULL ?
		    "which profile?" : "nothing to set: give KEY=VALUE");
		goto out;
	}
	if (profile_check_name(name, &cause) != 0) {
		char *n = shown(name);

		cli_error("profile '%s': name: %s", n, cause);
		free(n);
		free(cause);
		rc = EX_DATAERR;
		goto out;
	}
	/* Check the keys before anything is read or opened. */
	for (size_t i = 0; i < npairs; i++) {
		const char *eq = strchr(pairs[i], '=');
		enum profile_key key;
		char *k;

		if (eq == NULL) {
			rc = usage_error(usage, "set: '%s' is not KEY=VALUE",
			    pairs[i]);
			goto out;
		}
		k = xstrndup(pairs[i], (size_t)(eq - pairs[i]));
		if (profile_key_lookup(k, &key) != 0) {
			char *ks = shown(k);

			rc = usage_error(usage, "set: unknown key '%s' "
			    "(gwadmin keys lists them)", ks);
			free(ks);
			free(k);
			goto out;
		}
		free(k);
		if (given[key]) {
			rc = usage_error(usage, "set: %s given twice",
			    profile_key_name(key));
			goto out;
		}
		given[key] = true;
		if (key == PROFILE_KEY_NAME) {
			rc = usage_error(usage, "set: the name cannot be "
			    "changed by set (export, edit the name, import "
			    "and delete the old one)");
			goto out;
		}
		if (key == PROFILE_KEY_PASSWORD && eq[1] != '\0') {
			rc = usage_error(usage, "set: give the password with "
			    "--password-stdin, not on the command line, where "
			    "other users can see it (password= alone clears "
			    "it)");
			goto out;
		}
	}
	if (from_stdin && given[PROFILE_KEY_PASSWORD]) {
		rc = usage_error(usage, "set: password= and --password-stdin "
		    "together");
		goto out;
	}
	/* Read the password before the write lock is taken. */
	if (from_stdin && (password = read_password(name)) == NULL) {
		rc = EX_DATAERR;
		goto out;
	}
	if ((rc = cli_open_store(db, &s)) != 0)
		goto out;
	if ((rc = store_begin(s, &cause)) != STORE_OK) {
		rc = cli_store_failed(rc, cause);
		goto out;
	}
	rc = store_profile_get(s, name, &p, &cause);
	if (rc == STORE_NOT_FOUND)
		p = profile_new(name);
	else if (rc != STORE_OK) {
		rc = cli_store_failed(rc, cause);
		goto out;
	}
	created = p->revision == 0;
	old_tls = p->tls;
	orig = profile_dup(p);
	for (size_t i = 0; i < npairs; i++) {
		const char *eq = strchr(pairs[i], '=');
		char *k = xstrndup(pairs[i], (size_t)(eq - pairs[i]));
		enum profile_key key;

		profile_key_lookup(k, &key);
		free(k);
		if (profile_set(p, key, eq + 1, &cause) != 0) {
			diag_add(&errs, 0, 0, name, profile_key_name(key), "%s",
			    cause);
			free(cause);
			cause = NULL;
		}
	}
	if (password != NULL) {
		if (profile_set(p, PROFILE_KEY_PASSWORD, password, &cause) != 0) {
			diag_add(&errs, 0, 0, name, "password", "%s", cause);
			free(cause);
			cause = NULL;
		}
	}
	if (given[PROFILE_KEY_TLS] && !given[PROFILE_KEY_PORT])
		profile_tls_changed(p, old_tls);
	if (errs.n == 0)
		profile_validate(p, &errs);
	if (errs.n > 0) {
		cli_print_diags(&errs, NULL, "");
		cli_error("nothing was changed");
		rc = EX_DATAERR;
		goto out;
	}
	if ((rc = store_profile_put(s, p, &did_change, &cause)) != STORE_OK ||
	    (rc = store_commit(s, &cause)) != STORE_OK) {
		rc = cli_store_failed(rc, cause);
		goto out;
	}
	if (!did_change)
		printf("profile '%s' unchanged\n", name);
	else if (created)
		printf("created profile '%s'\n", name);
	else {
		profile_diff(orig, p, changed);
		printf("updated profile '%s':", name);
		for (int k = 0, first = 1; k < PROFILE_KEY_COUNT; k++) {
			if (changed[k]) {
				printf("%s %s", first ? "" : ",",
				    profile_key_name((enum profile_key)k));
				first = 0;
			}
		}
		putchar('\n');
	}
	rc = 0;
out:
	store_close(s);		/* rolls back what was not committed */
	profile_free(p);
	profile_free(orig);
	free_secret(password);
	diag_list_clear(&errs);
	free(pairs);
	return rc;
}

/* delete */

static int
cmd_delete(const char *db, int argc, char **argv)
{
	static const char usage[] = "gwadmin delete NAME";
	struct store *s = NULL;
	char *cause = NULL;
	int rc;

	if (argc != 1 || argv[0][0] == '-')
		return usage_error(usage, "delete: give one profile NAME");
	if ((rc = cli_open_store(db, &s)) != 0)
		return rc;
	rc = store_profile_delete(s, argv[0], &cause);
	if (rc == STORE_NOT_FOUND) {
		char *n = shown(argv[0]);

		cli_error("no profile named '%s' (gwadmin list shows them)", n);
		free(n);
		free(cause);
		rc = EX_NOINPUT;
	} else if (rc != STORE_OK)
		rc = cli_store_failed(rc, cause);
	else
		printf("deleted profile '%s'\n", argv[0]);
	store_close(s);
	return rc;
}

/* settings */

static int
cmd_settings(const char *db, int argc, char **argv)
{
	static const char usage[] = "gwadmin settings [--json] [KEY=VALUE...]";
	struct store *s = NULL;
	struct smtp_settings set;
	struct profile *p = NULL;
	bool json = false, given[SETTINGS_KEY_COUNT] = { 0 }, any = false;
	char *cause = NULL;
	int rc, bad = 0;

	settings_init(&set);
	for (int i = 0; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		enum settings_key key;
		char *k;

		if (strcmp(argv[i], "--json") == 0) {
			json = true;
			continue;
		}
		if (eq == NULL) {
			rc = usage_error(usage, "settings: '%s' is not "
			    "KEY=VALUE", argv[i]);
			goto out;
		}
		k = xstrndup(argv[i], (size_t)(eq - argv[i]));
		if (settings_key_lookup(k, &key) != 0) {
			char *ks = shown(k);

			rc = usage_error(usage, "settings: unknown key '%s' "
			    "(enabled, default_profile, subject_params, "
			    "subject_delimiter)", ks);
			free(ks);
			free(k);
			goto out;
		}
		free(k);
		if (given[key]) {
			rc = usage_error(usage, "settings: %s given twice",
			    settings_key_name(key));
			goto out;
		}
		given[key] = any = true;
	}
	if ((rc = cli_open_store(db, &s)) != 0)
		goto out;
	if (any && (rc = store_begin(s, &cause)) != STORE_OK) {
		rc = cli_store_failed(rc, cause);
		goto out;
	}
	settings_clear(&set);
	if ((rc = store_settings_get(s, &set, &cause)) != STORE_OK) {
		rc = cli_store_failed(rc, cause);
		goto out;
	}
	for (int i = 0; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		enum settings_key key;
		char *k;

		if (eq == NULL)
			continue;
		k = xstrndup(argv[i], (size_t)(eq - argv[i]));
		settings_key_lookup(k, &key);
		free(k);
		if (settings_set(&set, key, eq + 1, &cause) != 0) {
			cli_error("settings: %s: %s", settings_key_name(key),
			    cause);
			free(cause);
			cause = NULL;
			bad++;
		}
	}
	if (bad == 0 && given[SETTINGS_KEY_DEFAULT_PROFILE] &&
	    set.default_profile != NULL) {
		rc = store_profile_get(s, set.default_profile, &p, &cause);
		if (rc == STORE_NOT_FOUND) {
			cli_error("settings: default_profile: no profile named "
			    "'%s'", set.default_profile);
			bad++;
		} else if (rc != STORE_OK) {
			rc = cli_store_failed(rc, cause);
			goto out;
		}
	}
	if (bad > 0) {
		cli_error("nothing was changed");
		rc = EX_DATAERR;
		goto out;
	}
	if (any) {
		if ((rc = store_settings_put(s, &set, &cause)) != STORE_OK ||
		    (rc = store_commit(s, &cause)) != STORE_OK) {
			rc = cli_store_failed(rc, cause);
			goto out;
		}
		if (!json)
			goto out;
	}
	if (json) {
		if (profile_json_write_settings(stdout, &set, &cause) != 0) {
			cli_error("%s", cause);
			free(cause);
			rc = EX_IOERR;
		}
		goto out;
	}
	for (int k = 0; k < SETTINGS_KEY_COUNT; k++) {
		char *v = settings_get(&set, (enum settings_key)k);
		char *sv = shown(v);

		printf("%-18s %s\n", settings_key_name((enum settings_key)k),
		    *sv ? sv : "(none)");
		free(v);
		free(sv);
	}
out:
	if (fflush(stdout) != 0 && rc == 0) {
		cli_error("writing output: %s", strerror(errno));
		rc = EX_IOERR;
	}
	profile_free(p);
	settings_clear(&set);
	store_close(s);
	return rc;
}

/* keys */

static int
cmd_keys(const char *db, int argc, char **argv)
{
	(void)db;
	if (argc != 0)
		return usage_error("gwadmin keys", "keys: takes no arguments");
	for (int k = 0; k < PROFILE_KEY_COUNT; k++)
		printf("%-29s %s\n", profile_key_name((enum profile_key)k),
		    profile_key_help((enum profile_key)k));
	return 0;
}

static int
cmd_menu(const char *db, int argc, char **argv)
{
	struct store *s = NULL;
	char *cause = NULL;
	int rc;

	(void)argv;
	if (argc != 0)
		return usage_error("gwadmin [menu]", "menu: takes no "
		    "arguments");
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		cli_error("the menu needs a terminal; in scripts use the "
		    "subcommands (gwadmin --help)");
		return EX_USAGE;
	}
	if ((rc = cli_open_store(db, &s)) != 0)
		return rc;
	if (menu_run(s, &cause) != 0) {
		cli_error("%s", cause);
		free(cause);
		rc = EX_UNAVAILABLE;
	}
	store_close(s);
	return rc;
}

static const struct command commands[] = {
	{ "menu", cmd_menu, "gwadmin [--db PATH] [menu]" },
	{ "list", cmd_list, "gwadmin list [--json]" },
	{ "show", cmd_show, "gwadmin show NAME [--json]" },
	{ "set", cmd_set, "gwadmin set NAME KEY=VALUE... [--password-stdin]" },
	{ "delete", cmd_delete, "gwadmin delete NAME" },
	{ "settings", cmd_settings, "gwadmin settings [--json] [KEY=VALUE...]" },
	{ "import", cli_import, "gwadmin import [--dry-run] [--replace] "
	    "[--format json|msmtprc] FILE|-" },
	{ "export", cli_export, "gwadmin export [--include-secrets] "
	    "[--output FILE] [NAME...]" },
	{ "keys", cmd_keys, "gwadmin keys" },
	{ "copy", cli_copy, "gwadmin copy --to DB" },
};

int
gwadmin_main(int argc, char **argv)
{
	const struct command *cmd = NULL;
	const char *db = NULL;
	char **rest = xcalloc((size_t)argc + 1, sizeof *rest);
	bool help = false, version = false, dashdash = false;
	int nrest = 0, rc;

	/* Files we create (database, export) are private from the start. */
	umask(077);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (dashdash)
			rest[nrest++] = argv[i];
		else if (strcmp(a, "--") == 0)
			dashdash = true;
		else if (strcmp(a, "--db") == 0) {
			if (i + 1 == argc || argv[i + 1][0] == '\0') {
				free(rest);
				return usage_error("gwadmin --db PATH ...",
				    "--db needs a PATH");
			}
			db = argv[++i];
		} else if (strncmp(a, "--db=", 5) == 0) {
			if (a[5] == '\0') {
				free(rest);
				return usage_error("gwadmin --db PATH ...",
				    "--db needs a PATH");
			}
			db = a + 5;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			help = true;
		else if (strcmp(a, "--version") == 0)
			version = true;
		else if (cmd == NULL && a[0] != '-') {
			for (size_t c = 0; c < sizeof commands /
			    sizeof commands[0]; c++) {
				if (strcmp(commands[c].name, a) == 0)
					cmd = &commands[c];
			}
			if (cmd == NULL) {
				char *as = shown(a);

				rc = usage_error("gwadmin [--db PATH] COMMAND "
				    "[ARGS] (gwadmin --help lists them)",
				    "unknown command '%s'", as);
				free(as);
				free(rest);
				return rc;
			}
		} else
			rest[nrest++] = argv[i];
	}
	if (version) {
		printf("gwadmin %s\n", GWSMTP_VERSION);
		free(rest);
		return 0;
	}
	if (help) {
		if (cmd != NULL)
			printf("usage: %s\n", cmd->usage);
		else
			fputs(usage_text, stdout);
		free(rest);
		return 0;
	}
	if (cmd == NULL)
		cmd = &commands[0];
	rc = cmd->fn(db, nrest, rest);
	free(rest);
	return rc;
}
