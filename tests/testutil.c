/*
 * tests/testutil.c: temporary directories, files and running gwadmin for
 * the test programs.
 */
#include "tests/testutil.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/xmalloc.h"

char *
tu_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *path = xasprintf("%s/gwsmtp-test-XXXXXX", base ? base : "/tmp");

	cr_assert_not_null(mkdtemp(path), "mkdtemp: %s", strerror(errno));
	return path;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
tu_rmtree(const char *path)
{
	if (path != NULL)
		nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void
tu_write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	cr_assert(fd != -1, "open %s: %s", path, strerror(errno));
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		cr_assert(n > 0, "write %s: %s", path, strerror(errno));
		data += n;
		len -= (size_t)n;
	}
	close(fd);
}

char *
tu_read_file(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL)
		return NULL;
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = xreallocarray(buf, cap, 1);
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
}

/* Appends what is readable on fd to *buf; false at end of file or error. */
bool
tu_drain(int fd, char **buf, size_t *len)
{
	char chunk[8192];
	ssize_t n = read(fd, chunk, sizeof chunk);

	if (n <= 0)
		return false;
	*buf = xreallocarray(*buf, *len + (size_t)n + 1, 1);
	memcpy(*buf + *len, chunk, (size_t)n);
	*len += (size_t)n;
	(*buf)[*len] = '\0';
	return true;
}

void
tu_run_cmd(struct tu_run *r, const char *in, const char *const *argv)
{
	int pin[2], pout[2], perr[2], status;
	size_t olen = 0, elen = 0;
	pid_t pid;

	cr_assert(pipe2(pin, O_CLOEXEC) == 0 && pipe2(pout, O_CLOEXEC) == 0 &&
	    pipe2(perr, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
	pid = fork();
	cr_assert(pid != -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		dup2(perr[1], 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	signal(SIGPIPE, SIG_IGN);
	if (in != NULL) {
		/* Small inputs only: tests pass files for anything large. */
		size_t len = strlen(in);

		while (len > 0) {
			ssize_t n = write(pin[1], in, len);

			if (n <= 0)
				break;
			in += n;
			len -= (size_t)n;
		}
	}
	close(pin[1]);
	r->out = xstrdup("");
	r->err = xstrdup("");
	{
		struct pollfd pfd[2] = { { pout[0], POLLIN, 0 }, { perr[0], POLLIN, 0 } };
		int open_fds = 2;

		while (open_fds > 0) {
			if (poll(pfd, 2, -1) == -1 && errno != EINTR)
				break;
			if (pfd[0].revents && !tu_drain(pout[0], &r->out, &olen)) {
				pfd[0].fd = -1;
				open_fds--;
			}
			if (pfd[1].revents && !tu_drain(perr[0], &r->err, &elen)) {
				pfd[1].fd = -1;
				open_fds--;
			}
		}
	}
	close(pout[0]);
	close(perr[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void
tu_gwadmin(struct tu_run *r, const char *in, const char *const *argv)
{
	const char *prog = getenv("GWADMIN");
	const char **args;
	size_t argc = 0;

	cr_assert_not_null(prog, "GWADMIN is not set (run through meson test)");
	while (argv[argc] != NULL)
		argc++;
	args = xcalloc(argc + 2, sizeof *args);
	args[0] = prog;
	memcpy(args + 1, argv, argc * sizeof *args);
	tu_run_cmd(r, in, args);
	free(args);
}

void
tu_admin_okv(const char *db, const char *in, const char *first, va_list ap)
{
	const char *argv[64] = { "--db", db, first };
	struct tu_run r;
	size_t n = 3;

	while ((argv[n] = va_arg(ap, const char *)) != NULL)
		cr_assert(++n < 63, "too many arguments for gwadmin");
	tu_gwadmin(&r, in, argv);
	cr_assert_eq(r.status, 0, "gwadmin %s: exit %d\nstdout: %s\nstderr: %s",
	    first, r.status, r.out, r.err);
	tu_run_free(&r);
}

void
tu_admin_ok(const char *db, const char *in, const char *first, ...)
{
	va_list ap;

	va_start(ap, first);
	tu_admin_okv(db, in, first, ap);
	va_end(ap);
}

static char	**kept;
static size_t	  nkept, capkept;

const char *
tu_keep(char *s)
{
	if (nkept == capkept) {
		capkept = capkept ? capkept * 2 : 256;
		kept = xreallocarray(kept, capkept, sizeof *kept);
	}
	kept[nkept++] = s;
	return s;
}

const char *
tu_fmt(const char *f, ...)
{
	va_list ap;
	char *s;

	va_start(ap, f);
	s = xvasprintf(f, ap);
	va_end(ap);
	return tu_keep(s);
}

void
tu_kept_free(void)
{
	for (size_t i = 0; i < nkept; i++)
		free(kept[i]);
	free(kept);
	kept = NULL;
	nkept = capkept = 0;
}

void
tu_need_tool(const char *name)
{
	const char *ci = getenv("CI");
	char *cmd = xasprintf("command -v %s >/dev/null 2>&1", name);
	int found = system(cmd) == 0;

	free(cmd);
	if (found)
		return;
	if (ci != NULL && strcmp(ci, "true") == 0)
		cr_assert_fail("%s is not installed (CI=true: not skipping)",
		    name);
	cr_skip_test("%s is not installed", name);
}

int
tu_count_verb(const char *log, const char *verb)
{
	const char *line = log;
	size_t vl = strlen(verb);
	int n = 0;

	while (*line != '\0') {
		if (strncasecmp(line, verb, vl) == 0 &&
		    (line[vl] == ' ' || line[vl] == '\n' || line[vl] == '\0'))
			n++;
		line += strcspn(line, "\n");
		if (*line == '\n')
			line++;
	}
	return n;
}

yajl_val
tu_jget(yajl_val v, const char *key)
{
	const char *path[] = { key, NULL };

	return yajl_tree_get(v, path, yajl_t_any);
}

const char *
tu_jstr(yajl_val v, const char *key)
{
	yajl_val x = tu_jget(v, key);

	return x != NULL && YAJL_IS_STRING(x) ? YAJL_GET_STRING(x) : NULL;
}

long long
tu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* PostgreSQL mode: the databases tu_db() made, dropped at exit. */
static char	**pg_dbs;
static size_t	  npg_dbs;
static pid_t	  pg_maker;	/* the test's process, not a child of it */

bool
tu_pg(void)
{
	const char *backend = getenv("GWSMTP_TEST_BACKEND");

	return backend != NULL && strcmp(backend, "postgresql") == 0;
}

void
tu_sqlite_only(const char *why)
{
	if (tu_pg())
		cr_skip_test("SQLite only: %s", why);
}

char *
tu_psql(const char *db, const char *sql)
{
	const char *argv[] = { "psql", "-X", "-q", "-A", "-t", "-v",
	    "ON_ERROR_STOP=1", "-d", db, "-c", sql, NULL };
	struct tu_run r;
	size_t len;

	tu_run_cmd(&r, NULL, argv);
	cr_assert_eq(r.status, 0, "psql %s: exit %d: %s", sql, r.status,
	    r.err);
	len = strlen(r.out);
	if (len > 0 && r.out[len - 1] == '\n')
		r.out[len - 1] = '\0';
	free(r.err);
	return r.out;
}

/* $GWSMTP_TEST_PG, the cluster's URI, naming database name instead. */
static char *
pg_uri(const char *name)
{
	const char *base = getenv("GWSMTP_TEST_PG"), *path, *query;

	cr_assert(base != NULL && *base != '\0', "GWSMTP_TEST_PG is not set: "
	    "run through meson test or tests/servers/pgcluster.sh run");
	path = strstr(base, "://");
	cr_assert_not_null(path, "GWSMTP_TEST_PG is not a URI: %s", base);
	path += 3;
	path += strcspn(path, "/?");
	query = path + strcspn(path, "?");
	return xasprintf("%.*s/%s%s", (int)(path - base), base, name, query);
}

/*
 * At exit: drops what tu_db() made, connections and all.  Quietly, and
 * without Criterion's asserts: a database left behind goes with the
 * cluster at the end of the run.
 */
static void
pg_drop_all(void)
{
	char *admin;

	if (getpid() != pg_maker || npg_dbs == 0)
		return;
	admin = pg_uri("postgres");
	for (size_t i = 0; i < npg_dbs; i++) {
		char *sql = xasprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)",
		    pg_dbs[i]);
		pid_t pid = fork();

		if (pid == 0) {
			int null = open("/dev/null", O_RDWR);

			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			execlp("psql", "psql", "-X", "-q", "-d", admin, "-c", sql,
			    (char *)NULL);
			_exit(127);
		}
		if (pid > 0)
			while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
				;
		free(sql);
		free(pg_dbs[i]);
	}
	free(pg_dbs);
	pg_dbs = NULL;
	npg_dbs = 0;
	free(admin);
}

char *
tu_db(const char *dir, const char *file)
{
	if (!tu_pg())
		return xasprintf("%s/%s", dir, file);
	return tu_pg_db();
}

char *
tu_pg_db(void)
{
	const char *cluster = getenv("GWSMTP_TEST_PG");
	struct timespec ts;
	char *name, *admin, *sql;

	if (!tu_pg() && (cluster == NULL || *cluster == '\0'))
		cr_skip_test("no PostgreSQL cluster ($GWSMTP_TEST_PG is not "
		    "set: run through meson test, where PostgreSQL is built)");
	tu_need_tool("psql");
	/* Unique in the cluster, which a whole run of programs shares. */
	clock_gettime(CLOCK_REALTIME, &ts);
	name = xasprintf("gwtest_%d_%lld_%zu", (int)getpid(),
	    (long long)ts.tv_sec * 1000000000 + ts.tv_nsec, npg_dbs);
	admin = pg_uri("postgres");
	/* FILE_COPY: a few times faster than WAL_LOG with fsync off. */
	sql = xasprintf("CREATE DATABASE %s STRATEGY FILE_COPY", name);
	free(tu_psql(admin, sql));
	free(sql);
	free(admin);
	if (pg_maker == 0) {
		pg_maker = getpid();
		atexit(pg_drop_all);
	}
	pg_dbs = xreallocarray(pg_dbs, npg_dbs + 1, sizeof *pg_dbs);
	pg_dbs[npg_dbs++] = name;
	return pg_uri(name);
}

void
tu_db_set_version(const char *db, unsigned long version)
{
	unsigned char be[4] = { version >> 24 & 0xff, version >> 16 & 0xff,
	    version >> 8 & 0xff, version & 0xff };
	char *sql;
	FILE *f;

	if (tu_pg()) {
		sql = xasprintf("UPDATE gwsmtp_meta SET value = '%lu' WHERE "
		    "key = 'schema_version'", version);
		free(tu_psql(db, sql));
		free(sql);
		return;
	}
	/* user_version lives at byte 60 of the SQLite header. */
	f = fopen(db, "r+b");
	cr_assert_not_null(f, "%s: %s", db, strerror(errno));
	cr_assert(fseek(f, 60, SEEK_SET) == 0 && fwrite(be, 1, 4, f) == 4 &&
	    fclose(f) == 0, "%s: %s", db, strerror(errno));
}

void
tu_run_free(struct tu_run *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}
