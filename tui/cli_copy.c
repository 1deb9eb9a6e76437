/*
 * tui/cli_copy.c: gwadmin copy --to DB: the whole store (profiles with
 * their passwords and revisions, the global settings, the audit trail, the
 * queue with its recipients and bodies) from the current database into an
 * empty one, SQLite or PostgreSQL, either way (SPEC section 4a).
 *
 * The target is written in one transaction, which begins by checking that
 * the target holds nothing, under a lock that keeps it so (store_counts());
 * whatever fails rolls it back, and the target stays empty.  The source is
 * read in one snapshot (store_begin_read()) and never written: engines and
 * gwadmin may go on using it, and the copy is the store as it was at one
 * moment.  Rows are written as they were read, ids and times included, and
 * the copy adds no audit row of its own: the target's trail is the
 * source's.  A message an engine was sending at that moment is copied as
 * given back without an attempt (queue_released()), since its lease names
 * an engine of the source.
 *
 * It is not a merge or a sync: a target that holds anything is refused.
 */
#include "tui/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "core/profile.h"
#include "core/queue.h"
#include "core/text.h"
#include "store/store.h"

/* Copies of more rows than this show progress on a terminal. */
#define PROGRESS_MIN	1000

static const char copy_usage[] = "gwadmin copy --to DB";

/* A copy under way: the two stores, what was copied, what failed. */
struct copy {
	struct store	*from;
	struct store	*to;
	size_t		 total;		/* rows: profiles, audit, queue */
	size_t		 done;
	bool		 show;		/* progress on standard error */
	size_t		 profiles;
	size_t		 settings;	/* keys that differ from the defaults */
	size_t		 audit;
	size_t		 queue;
	size_t		 released;	/* were being sent */
	int		 status;	/* the audit row's that failed */
	char		*cause;
};

static void
step(struct copy *c)
{
	c->done++;
	cli_progress("copying", "rows", c->done, c->total, c->show);
}

/* Profiles are freed with profile_free(), which wipes their passwords. */
static int
copy_profiles(struct copy *c)
{
	struct profile **v = NULL;
	size_t n = 0;
	int rc;

	if ((rc = store_profile_list(c->from, &v, &n, &c->cause)) != STORE_OK)
		return rc;
	for (size_t i = 0; i < n && rc == STORE_OK; i++) {
		rc = store_profile_restore(c->to, v[i], &c->cause);
		if (rc == STORE_OK) {
			c->profiles++;
			step(c);
		}
	}
	for (size_t i = 0; i < n; i++)
		profile_free(v[i]);
	free(v);
	return rc;
}

static int
copy_settings(struct copy *c)
{
	struct smtp_settings set, def;
	bool diff[SETTINGS_KEY_COUNT];
	int rc;

	if ((rc = store_settings_get(c->from, &set, &c->cause)) != STORE_OK)
		return rc;
	rc = store_settings_restore(c->to, &set, &c->cause);
	settings_init(&def);
	c->settings = settings_diff(&def, &set, diff);
	settings_clear(&def);
	settings_clear(&set);
	return rc;
}

static int
audit_row(const struct store_audit *row, void *arg)
{
	struct copy *c = arg;

	c->status = store_audit_restore(c->to, row, &c->cause);
	if (c->status != STORE_OK)
		return 1;
	c->audit++;
	step(c);
	return 0;
}

static int
copy_audit(struct copy *c)
{
	int rc;

	c->status = STORE_OK;
	rc = store_audit_foreach(c->from, audit_row, c, &c->cause);
	return rc != STORE_OK ? rc : c->status;
}

/*
 * One message at a time, so that one body at most is in memory; each is
 * wiped once written.
 */
static int
copy_queue(struct copy *c)
{
	struct store_qmsg *v = NULL;
	size_t n = 0;
	int rc;

	if ((rc = store_queue_list(c->from, &v, &n, &c->cause)) != STORE_OK)
		return rc;
	for (size_t i = 0; i < n && rc == STORE_OK; i++) {
		struct store_qmsg *m = &v[i];

		if (m->state == QUEUE_SENDING) {
			/* Its lease is a source engine's; due as it was. */
			m->state = queue_released(m->attempts);
			c->released++;
		}
		rc = store_queue_body(c->from, m, &c->cause);
		if (rc == STORE_NOT_FOUND)
			rc = STORE_OK;		/* sent or failed: no body */
		if (rc == STORE_OK)
			rc = store_queue_restore(c->to, m, &c->cause);
		if (m->data != NULL) {
			explicit_bzero(m->data, m->datalen);
			free(m->data);
			m->data = NULL;
			m->datalen = 0;
		}
		if (rc == STORE_OK) {
			c->queue++;
			step(c);
		}
	}
	store_qmsg_free_array(v, n);
	return rc;
}

/*
 * Whether the stores from and to, opened on the arguments a and b, are one
 * database: the same name as the stores show it (a URI without its
 * password), or the same file under two paths.  Two URIs that reach one
 * PostgreSQL database by different host names are not told apart here;
 * the copy then finds its target not empty, unless there is nothing to
 * copy.
 */
static bool
same_database(const char *a, const char *b, struct store *from,
    struct store *to)
{
	struct stat sa, sb;

	if (strcmp(store_shown(from), store_shown(to)) == 0)
		return true;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	    sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static const char *
plural(size_t n)
{
	return n == 1 ? "" : "s";
}

int
cli_copy(const char *db, int argc, char **argv)
{
	struct copy c = { 0 };
	struct store_counts have;
	const char *to = NULL;
	char *def = NULL, *shown = NULL;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			to = argv[++i];
		else if (strncmp(argv[i], "--to=", 5) == 0)
			to = argv[i] + 5;
		else {
			cli_error("copy: unexpected '%s'\nusage: %s", argv[i],
			    copy_usage);
			return EX_USAGE;
		}
	}
	if (to == NULL || *to == '\0') {
		cli_error("copy: into which database? give it with --to DB "
		    "(an SQLite path or a postgresql:// URI)\nusage: %s",
		    copy_usage);
		return EX_USAGE;
	}
	if (db == NULL && (db = def = store_default_path(&c.cause)) == NULL)
		return cli_store_failed(STORE_ERROR, c.cause);
	if ((rc = cli_open_store(db, &c.from)) != 0 ||
	    (rc = cli_open_store(to, &c.to)) != 0)
		goto out;
	shown = text_escape(store_shown(c.to));
	if (same_database(db, to, c.from, c.to)) {
		cli_error("copy: %s is the database being copied; give --to "
		    "another one", shown);
		rc = EX_USAGE;
		goto out;
	}

	if ((rc = store_begin(c.to, &c.cause)) != STORE_OK ||
	    (rc = store_counts(c.to, &have, &c.cause)) != STORE_OK)
		goto failed;
	if (have.profiles + have.settings + have.audit + have.queue > 0) {
		cli_error("copy: %s is not empty: it holds %zu profile%s, %zu "
		    "setting%s, %zu audit row%s and %zu queued message%s; copy "
		    "into a new database.  Nothing was copied", shown,
		    have.profiles, plural(have.profiles), have.settings,
		    plural(have.settings), have.audit, plural(have.audit),
		    have.queue, plural(have.queue));
		rc = EX_CANTCREAT;
		goto out;
	}
	if ((rc = store_begin_read(c.from, &c.cause)) != STORE_OK ||
	    (rc = store_counts(c.from, &have, &c.cause)) != STORE_OK)
		goto failed;
	c.total = have.profiles + have.audit + have.queue;
	c.show = isatty(STDERR_FILENO) && c.total >= PROGRESS_MIN;
	if ((rc = copy_profiles(&c)) != STORE_OK ||
	    (rc = copy_settings(&c)) != STORE_OK ||
	    (rc = copy_audit(&c)) != STORE_OK ||
	    (rc = copy_queue(&c)) != STORE_OK)
		goto failed;
	store_rollback(c.from);		/* the read's end: nothing to keep */
	if ((rc = store_commit(c.to, &c.cause)) != STORE_OK)
		goto failed;

	printf("copied %zu profile%s, %zu setting%s, %zu audit row%s and %zu "
	    "queued message%s to %s\n", c.profiles, plural(c.profiles),
	    c.settings, plural(c.settings), c.audit, plural(c.audit), c.queue,
	    plural(c.queue), shown);
	if (c.released > 0)
		cli_error("copy: %zu message%s that an engine was sending %s "
		    "copied as waiting to be sent (queued or deferred); if "
		    "that engine still runs on the source, stop it before "
		    "engines use the copy, or %s may be sent twice", c.released,
		    plural(c.released), c.released == 1 ? "was" : "were",
		    c.released == 1 ? "it" : "they");
	rc = fflush(stdout) == 0 ? 0 : EX_IOERR;
	goto out;

failed:
	if (c.show && c.done < c.total)
		fputc('\n', stderr);
	rc = cli_store_failed(rc, c.cause);
	cli_error("copy: nothing was copied");
out:
	store_close(c.from);
	store_close(c.to);		/* rolls back what was not committed */
	free(shown);
	free(def);
	return rc;
}
