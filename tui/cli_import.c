/*
 * tui/cli_import.c: gwadmin import and export.
 *
 * Import is all or nothing: the file is parsed and validated whole, then
 * checked against the store (stored passwords, the default profile) in the
 * same pass, so that one run reports every error; then every change is
 * made in one write transaction that commits only if nothing failed
 * (--dry-run does the same work and rolls back, so its counts are exact).
 * Export writes the JSON profile file; with --output it writes a 0600 file
 * atomically (temporary file, fsync, rename).
 */
#include "tui/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "core/profile.h"
#include "core/profile_file.h"
#include "core/text.h"
#include "core/xmalloc.h"
#include "store/store.h"

/* Imports larger than this show progress on a terminal. */
#define PROGRESS_MIN	2000
/* Errors printed; then one line says how many more there were. */
#define ERRORS_SHOWN	100

static const char import_usage[] =
    "gwadmin import [--dry-run] [--replace] [--format json|msmtprc] FILE|-";
static const char export_usage[] =
    "gwadmin export [--include-secrets] [--output FILE] [NAME...]";

/* Reads all of fd; NULL with errno on failure.  Caller frees. */
static char *
read_all(int fd, size_t *lenp)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		cap = (size_t)st.st_size + 1;
	for (;;) {
		ssize_t n;

		if (cap - len < 2) {
			cap = cap ? cap * 2 : 65536;
			buf = xreallocarray(buf, cap, 1);
		} else if (buf == NULL)
			buf = xmalloc(cap);
		n = read(fd, buf + len, cap - len - 1);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return NULL;
		}
		len += (size_t)n;
	}
	if (buf == NULL)
		buf = xmalloc(1);
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool
in_file(const struct profile_file *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++) {
		const char *n = f->entries[i].profile->name;

		if (n != NULL && strcmp(n, name) == 0)
			return true;
	}
	return false;
}

/* The default_profile the file sets, if it must be looked for elsewhere. */
static const char *
default_elsewhere(const struct profile_file *f)
{
	const char *def = f->settings.default_profile;

	if (!f->has_settings ||
	    !f->settings_given[SETTINGS_KEY_DEFAULT_PROFILE] || def == NULL ||
	    in_file(f, def))
		return NULL;
	return def;
}

/* Whether check_stored() has anything to ask the store. */
static bool
store_questions(const struct profile_file *f)
{
	for (size_t i = 0; i < f->n; i++) {
		if (f->entries[i].profile->name != NULL &&
		    !f->entries[i].password_given)
			return true;
	}
	return default_elsewhere(f) != NULL;
}

struct import_counts {
	size_t	created;
	size_t	updated;
	size_t	unchanged;
	size_t	deleted;
};

/*
 * The checks that need the store, made whether or not the file had errors
 * of its own.  A password the file leaves out is the stored profile's: it is
 * put in the entry, with the stored revision, and the profile must then have
 * the password its auth needs.  A default_profile the file sets must name a
 * profile of the file or, without --replace, of the store.  Errors go to
 * errs; nothing is written.  Returns a store status.
 */
static int
check_stored(struct store *s, struct profile_file *f, bool replace,
    struct diag_list *errs, char **cause)
{
	const char *def = default_elsewhere(f);
	struct diag_list full = { 0 };
	struct profile *old;
	int rc;

	for (size_t i = 0; i < f->n; i++) {
		struct profile_entry *e = &f->entries[i];
		struct profile *p = e->profile;
		size_t before = errs->n;

		if (p->name == NULL)
			continue;	/* refused: reported by the reader */
		rc = store_profile_get(s, p->name, &old, cause);
		if (rc == STORE_NOT_FOUND)
			old = NULL;
		else if (rc != STORE_OK)
			goto out;
		if (old != NULL) {
			p->revision = old->revision;
			if (!e->password_given && old->password != NULL &&
			    p->password == NULL)
				p->password = xstrdup(old->password);
			profile_free(old);
		}
		if (e->password_given)
			continue;
		/*
		 * The reader checked everything but the password, which was
		 * left to the store: of the whole check, only what it says
		 * about the password is new.
		 */
		profile_validate(p, &full);
		for (size_t j = 0; j < full.n; j++) {
			struct diag *d = &full.v[j];

			if (d->key != NULL && strcmp(d->key, "password") == 0)
				diag_add(errs, 0, 0, d->profile, d->key, "%s",
				    d->reason);
		}
		diag_list_clear(&full);
		diag_locate(errs, before, e->line, e->column);
	}
	if (def != NULL) {
		old = NULL;
		rc = replace ? STORE_NOT_FOUND : store_profile_get(s, def, &old,
		    cause);
		profile_free(old);
		if (rc == STORE_NOT_FOUND)
			diag_add(errs, f->settings_line, f->settings_column,
			    NULL, "default_profile", "no profile named '%s' in "
			    "the file or the database", def);
		else if (rc != STORE_OK)
			goto out;
	}
	rc = STORE_OK;
out:
	diag_list_clear(&full);
	return rc;
}

/*
 * Writes the file's profiles and settings inside the open transaction,
 * once check_stored() found nothing wrong.  Returns a store status.
 */
static int
apply(struct store *s, struct profile_file *f, bool replace,
    struct import_counts *c, char **cause)
{
	bool show = isatty(STDERR_FILENO) && f->n >= PROGRESS_MIN;
	char **names = NULL;
	int rc;

	for (size_t i = 0; i < f->n; i++) {
		struct profile *p = f->entries[i].profile;
		bool created = p->revision == 0, changed;

		rc = store_profile_put(s, p, &changed, cause);
		if (rc != STORE_OK)
			return rc;
		if (created)
			c->created++;
		else if (changed)
			c->updated++;
		else
			c->unchanged++;
		cli_progress("importing", "profiles", i + 1, f->n, show);
	}
	if (replace) {
		struct profile **stored = NULL;
		size_t n = 0;

		names = xcalloc(f->n + 1, sizeof *names);
		for (size_t i = 0; i < f->n; i++)
			names[i] = f->entries[i].profile->name;
		qsort(names, f->n, sizeof *names, cmp_str);
		if ((rc = store_profile_list(s, &stored, &n, cause)) != STORE_OK) {
			free(names);
			return rc;
		}
		for (size_t i = 0; i < n; i++) {
			if (rc == STORE_OK && bsearch(&stored[i]->name, names,
			    f->n, sizeof *names, cmp_str) == NULL) {
				rc = store_profile_delete(s, stored[i]->name,
				    cause);
				c->deleted++;
			}
			profile_free(stored[i]);
		}
		free(stored);
		free(names);
		if (rc != STORE_OK)
			return rc;
	}

	if (f->has_settings) {
		struct smtp_settings cur;

		/* Read after the deletions, which clear a deleted default. */
		if ((rc = store_settings_get(s, &cur, cause)) != STORE_OK)
			return rc;
		for (int k = 0; k < SETTINGS_KEY_COUNT; k++) {
			enum settings_key key = (enum settings_key)k;
			char *v;

			if (!f->settings_given[k])
				continue;
			v = settings_get(&f->settings, key);
			/* Values were checked by the reader. */
			rc = settings_set(&cur, key, v, cause);
			free(v);
			if (rc != 0) {
				settings_clear(&cur);
				return STORE_ERROR;
			}
		}
		rc = store_settings_put(s, &cur, cause);
		settings_clear(&cur);
		if (rc != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

/*
 * Every error in file order, the first ERRORS_SHOWN of them with how many
 * more there were, and the summary.  Returns the exit status.
 */
static int
report_errors(struct diag_list *errs, const char *source)
{
	struct diag_list shown = *errs;

	diag_sort(errs, 0);
	if (shown.n > ERRORS_SHOWN)
		shown.n = ERRORS_SHOWN;
	shown.v = errs->v;
	cli_print_diags(&shown, source, "");
	if (errs->n > shown.n)
		cli_error("... and %zu more error%s, not shown", errs->n -
		    shown.n, errs->n - shown.n == 1 ? "" : "s");
	cli_error("import: %zu error%s in %s; nothing was imported",
	    errs->n, errs->n == 1 ? "" : "s", source);
	return EX_DATAERR;
}

int
cli_import(const char *db, int argc, char **argv)
{
	struct profile_file f;
	struct diag_list errs = { 0 };
	struct import_counts c = { 0 };
	struct store *s = NULL;
	const char *path = NULL, *format = "json", *source;
	bool dry_run = false, replace = false;
	char *buf = NULL, *cause = NULL;
	size_t len = 0;
	int rc, fd;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0)
			dry_run = true;
		else if (strcmp(argv[i], "--replace") == 0)
			replace = true;
		else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc)
			format = argv[++i];
		else if (strncmp(argv[i], "--format=", 9) == 0)
			format = argv[i] + 9;
		else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			cli_error("import: unknown option '%s'\nusage: %s",
			    argv[i], import_usage);
			return EX_USAGE;
		} else if (path == NULL)
			path = argv[i];
		else {
			cli_error("import: one FILE only\nusage: %s",
			    import_usage);
			return EX_USAGE;
		}
	}
	if (path == NULL) {
		cli_error("import: which file? ('-' reads standard input)\n"
		    "usage: %s", import_usage);
		return EX_USAGE;
	}
	if (strcmp(format, "json") != 0 && strcmp(format, "msmtprc") != 0) {
		cli_error("import: --format must be json or msmtprc\nusage: %s",
		    import_usage);
		return EX_USAGE;
	}
	source = strcmp(path, "-") == 0 ? "<stdin>" : path;
	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		cli_error("import: cannot read %s: %s", path, strerror(errno));
		return EX_NOINPUT;
	}
	buf = read_all(fd, &len);
	if (buf == NULL) {
		cli_error("import: cannot read %s: %s", source,
		    strerror(errno));
		if (fd != STDIN_FILENO)
			close(fd);
		return EX_NOINPUT;
	}
	if (fd != STDIN_FILENO)
		close(fd);

	profile_file_init(&f);
	if (strcmp(format, "json") == 0)
		rc = profile_json_read(buf, len, &f, &errs);
	else
		rc = profile_msmtprc_read(buf, len, &f, &errs);
	/* The buffer may hold passwords. */
	explicit_bzero(buf, len);
	free(buf);
	cli_print_diags(&f.warnings, source, "warning: ");
	/*
	 * A file with errors is still checked against the store, so that one
	 * run shows them all; but no store is opened (or created) for
	 * nothing, and one that cannot be used does not hide them.
	 */
	if (rc != 0 && !store_questions(&f))
		goto report;
	if ((rc = cli_open_store(db, &s)) != 0)
		goto store_failed;
	if ((rc = store_begin(s, &cause)) != STORE_OK) {
		rc = cli_store_failed(rc, cause);
		goto store_failed;
	}
	if ((rc = check_stored(s, &f, replace, &errs, &cause)) != STORE_OK ||
	    (errs.n == 0 &&
	    (rc = apply(s, &f, replace, &c, &cause)) != STORE_OK)) {
		store_rollback(s);
		rc = cli_store_failed(rc, cause);
		if (errs.n > 0)
			goto report;
		cli_error("import: nothing was imported");
		goto out;
	}
	if (errs.n > 0) {
		store_rollback(s);
		goto report;
	}
	if (dry_run)
		store_rollback(s);
	else if ((rc = store_commit(s, &cause)) != STORE_OK) {
		rc = cli_store_failed(rc, cause);
		cli_error("import: nothing was imported");
		goto out;
	}
	printf("%screated %zu, updated %zu, unchanged %zu, deleted %zu\n",
	    dry_run ? "dry run, nothing written: would have " : "",
	    c.created, c.updated, c.unchanged, c.deleted);
	rc = 0;
	goto out;

store_failed:
	if (errs.n == 0)
		goto out;
report:
	rc = report_errors(&errs, source);
out:
	store_close(s);
	profile_file_clear(&f);
	diag_list_clear(&errs);
	return rc;
}

/*
 * Opens a temporary file beside path, mode 0600; *tmp receives its name.
 * Returns NULL with errno on failure.
 */
static FILE *
open_output(const char *path, char **tmp)
{
	int fd;
	FILE *fp;

	*tmp = xasprintf("%s.tmp-XXXXXX", path);
	if ((fd = mkstemp(*tmp)) == -1) {
		free(*tmp);
		*tmp = NULL;
		return NULL;
	}
	fchmod(fd, 0600);
	if ((fp = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlink(*tmp);
		free(*tmp);
		*tmp = NULL;
	}
	return fp;
}

int
cli_export(const char *db, int argc, char **argv)
{
	enum profile_secret_mode secrets = PROFILE_SECRET_OMIT;
	struct store *s = NULL;
	struct profile **v = NULL;
	struct smtp_settings set;
	const char *output = NULL;
	char **names, *cause = NULL, *tmp = NULL;
	size_t n = 0, nnames = 0;
	FILE *out = stdout;
	int rc;

	settings_init(&set);
	names = xcalloc((size_t)argc + 1, sizeof *names);
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--include-secrets") == 0)
			secrets = PROFILE_SECRET_INCLUDE;
		else if ((strcmp(argv[i], "--output") == 0 ||
		    strcmp(argv[i], "-o") == 0) && i + 1 < argc)
			output = argv[++i];
		else if (strncmp(argv[i], "--output=", 9) == 0)
			output = argv[i] + 9;
		else if (argv[i][0] == '-') {
			cli_error("export: unknown option '%s'\nusage: %s",
			    argv[i], export_usage);
			rc = EX_USAGE;
			goto out;
		} else
			names[nnames++] = argv[i];
	}
	if ((rc = cli_open_store(db, &s)) != 0)
		goto out;
	if (nnames == 0) {
		settings_clear(&set);
		if ((rc = store_profile_list(s, &v, &n, &cause)) != STORE_OK ||
		    (rc = store_settings_get(s, &set, &cause)) != STORE_OK) {
			rc = cli_store_failed(rc, cause);
			goto out;
		}
	} else {
		v = xcalloc(nnames, sizeof *v);
		for (size_t i = 0; i < nnames; i++) {
			rc = store_profile_get(s, names[i], &v[n], &cause);
			if (rc == STORE_NOT_FOUND) {
				char *sn = text_escape(names[i]);

				cli_error("export: no profile named '%s'; "
				    "nothing was written", sn);
				free(sn);
				rc = EX_NOINPUT;
				goto out;
			}
			if (rc != STORE_OK) {
				rc = cli_store_failed(rc, cause);
				goto out;
			}
			n++;
		}
	}
	if (output != NULL && (out = open_output(output, &tmp)) == NULL) {
		cli_error("export: cannot write %s: %s", output,
		    strerror(errno));
		rc = EX_CANTCREAT;
		goto out;
	}
	/* Profiles named one by one go without settings: see gwadmin(1). */
	if (profile_json_export(out, v, n, nnames == 0 ? &set : NULL, secrets,
	    &cause) != 0 || fflush(out) != 0 ||
	    (tmp != NULL && fsync(fileno(out)) != 0)) {
		cli_error("export: %s", cause ? cause : strerror(errno));
		free(cause);
		rc = EX_IOERR;
		goto out;
	}
	if (tmp != NULL) {
		fclose(out);
		out = stdout;
		if (rename(tmp, output) != 0) {
			cli_error("export: cannot write %s: %s", output,
			    strerror(errno));
			rc = EX_CANTCREAT;
			goto out;
		}
		free(tmp);
		tmp = NULL;
	}
	rc = 0;
out:
	if (tmp != NULL) {
		if (out != stdout)
			fclose(out);
		unlink(tmp);
		free(tmp);
	}
	for (size_t i = 0; i < n; i++)
		profile_free(v[i]);
	free(v);
	free(names);
	settings_clear(&set);
	store_close(s);
	return rc;
}
