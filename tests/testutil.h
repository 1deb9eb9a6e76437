/*
 * tests/testutil.h: helpers shared by the test programs: temporary
 * directories, files, and running gwadmin.
 */
#ifndef GWSMTP_TESTS_TESTUTIL_H
#define GWSMTP_TESTS_TESTUTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <yajl/yajl_tree.h>

/* A fresh directory under $TMPDIR, removed by the caller via tu_rmtree(). */
char	*tu_tmpdir(void);
void	 tu_rmtree(const char *path);
/* Writes len bytes to path (mode 0600).  Aborts the test on failure. */
void	 tu_write_file(const char *path, const char *data, size_t len);
/* Reads a whole file; *len set if non-NULL.  Caller frees.  NULL if absent. */
char	*tu_read_file(const char *path, size_t *len);

/* The result of running a program. */
struct tu_run {
	int	 status;	/* exit code; 128+N if killed by signal N */
	char	*out;
	char	*err;
};

/*
 * Runs $GWADMIN with argv (NULL-terminated, without argv[0]), stdin from
 * in (NULL: empty), in this process's environment (each Criterion test is
 * its own process, so setenv() in a test is local to it).
 */
void	 tu_gwadmin(struct tu_run *r, const char *in, const char *const *argv);
/*
 * gwadmin --db DB FIRST ARGS... (NULL-terminated), stdin from in (may be
 * NULL), which must exit 0: the test fails with its output otherwise.
 */
void	 tu_admin_ok(const char *db, const char *in, const char *first, ...)
	    __attribute__((sentinel));
void	 tu_admin_okv(const char *db, const char *in, const char *first,
	    va_list ap);
/*
 * Runs argv[0] (searched in PATH) with argv the same way: stdin from in
 * (NULL: empty), stdout and stderr captured.
 */
void	 tu_run_cmd(struct tu_run *r, const char *in, const char *const *argv);
void	 tu_run_free(struct tu_run *r);
/*
 * Strings a test hands around without freeing each: tu_keep() keeps s
 * (returned) until tu_kept_free(), which a suite's teardown calls;
 * tu_fmt() is xasprintf() kept so.
 */
const char *tu_keep(char *s);
const char *tu_fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
void	 tu_kept_free(void);
/* A program a test needs on PATH: skips the test without it, fails it
 * instead under CI=true. */
void	 tu_need_tool(const char *name);
/*
 * How many lines of log (a server's command log, one command a line)
 * start with verb as a whole word, in any case.
 */
int	 tu_count_verb(const char *log, const char *verb);
/* The member key of object v (yajl_tree), or NULL. */
yajl_val tu_jget(yajl_val v, const char *key);
/* The string at key, or NULL if it is null, absent or not a string. */
const char *tu_jstr(yajl_val v, const char *key);
/*
 * How long a test waits for a state it polls for (a reply, a file, a
 * process's end, a daemon seeing a change) before it fails.  Generous: a
 * loaded machine is slow, and a wait that is met costs nothing more.
 */
#define TU_SETTLE_MS	30000

/*
 * The database a test uses, as --db and store_open() take it (caller
 * frees): DIR/FILE, or when the test program runs on PostgreSQL
 * ($GWSMTP_TEST_BACKEND=postgresql, as meson sets it for the suite
 * 'postgresql') a new empty database of its own in the cluster that
 * $GWSMTP_TEST_PG names (tests/servers/pgcluster.sh), dropped when this
 * process exits.
 */
char	*tu_db(const char *dir, const char *file);
/*
 * A new empty PostgreSQL database as tu_db() makes them, whatever the
 * backend the test program runs on: for a test that needs both kinds at
 * once.  Skips the test where no cluster is set up ($GWSMTP_TEST_PG unset:
 * a build without PostgreSQL registers the program outside
 * tests/servers/pgcluster.sh).  Caller frees.
 */
char	*tu_pg_db(void);
/* Whether this test program runs on PostgreSQL. */
bool	 tu_pg(void);
/* Skips a test about SQLite's own files (why) when on PostgreSQL. */
void	 tu_sqlite_only(const char *why);
/*
 * What psql prints for sql on db (a tu_db() URI), unaligned, without
 * headers or a last newline (caller frees); the test fails if psql does.
 */
char	*tu_psql(const char *db, const char *sql);
/*
 * Writes version as the schema version of db, a closed tu_db() database
 * that gwsmtp made: SQLite's user_version, PostgreSQL's gwsmtp_meta row.
 */
void	 tu_db_set_version(const char *db, unsigned long version);

/* CLOCK_MONOTONIC in milliseconds. */
long long tu_now_ms(void);
/* Appends what one read(2) of fd gives to *buf; false at end of file. */
bool	 tu_drain(int fd, char **buf, size_t *len);

#endif
