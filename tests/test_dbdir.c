/*
 * tests/test_dbdir.c: where the database may live.  gwadmin and gwengine
 * refuse (status 77, creating and writing nothing) a database another user
 * could swap or read what SQLite writes beside it: a directory on its path
 * that is another user's or writable by group or others (sticky
 * directories on the way excepted, not the database's own), and a -wal,
 * -shm or -journal file that is another user's, loose or a symbolic link.
 * A symbolic link on the way is refused with 78, also before anything is
 * made (SQLite opens no database through one).
 * In the layouts they accept, another user (nobody, through runuser)
 * cannot read a password that was just set.
 *
 * The cases with another user need root; without it they are skipped, but
 * under CI=true they fail.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/xmalloc.h"
#include "tests/testutil.h"

#define EXIT_NOPERM	77
#define EXIT_CONFIG	78
#define MAX_ARGS	32

/* What the other user looks for: it must not reach them. */
static const char password[] = "pw-dbdir-Zq9x7-secret";

static char *base;

static void
setup(void)
{
	char *made = tu_tmpdir();

	/* Messages name directories without symbolic links. */
	base = realpath(made, NULL);
	cr_assert_not_null(base);
	free(made);
	/* Other users may come in and look: each case decides below. */
	cr_assert_eq(chmod(base, 0755), 0);
	unsetenv("GWSMTP_DB");
}

static void
teardown(void)
{
	tu_rmtree(base);
	free(base);
	tu_kept_free();
}

TestSuite(dbdir, .init = setup, .fini = teardown);

/* base/rel, kept until teardown. */
static const char *
at(const char *rel)
{
	return tu_fmt("%s/%s", base, rel);
}

static const char *
mkdir_mode(const char *rel, mode_t mode)
{
	const char *path = at(rel);

	cr_assert_eq(mkdir(path, 0700), 0, "mkdir %s: %s", path,
	    strerror(errno));
	/* chmod, not mkdir's mode: the umask would take bits away. */
	cr_assert_eq(chmod(path, mode), 0, "chmod %s: %s", path,
	    strerror(errno));
	return path;
}

/*
 * Cases that need another user: root (to chown and runuser), runuser and
 * the user nobody.
 */
static struct passwd *
need_other_user(void)
{
	const char *ci = getenv("CI");
	bool in_ci = ci != NULL && strcmp(ci, "true") == 0;
	struct passwd *pw;

	if (geteuid() != 0) {
		if (in_ci)
			cr_assert_fail("not root: this case needs root "
			    "(CI=true: not skipping)");
		cr_skip_test("not root: this case needs root");
	}
	tu_need_tool("runuser");
	pw = getpwnam("nobody");
	if (pw == NULL) {
		if (in_ci)
			cr_assert_fail("no user nobody (CI=true: not skipping)");
		cr_skip_test("no user nobody");
	}
	return pw;
}

static void
give_to_nobody(const char *path)
{
	struct passwd *pw = need_other_user();

	cr_assert_eq(lchown(path, pw->pw_uid, pw->pw_gid), 0, "chown %s: %s",
	    path, strerror(errno));
}

/* Runs argv (NULL-terminated) as the user nobody. */
static struct tu_run
as_nobody(const char *first, ...)
{
	const char *argv[MAX_ARGS] = { "runuser", "-u", "nobody", "--", first };
	struct tu_run r;
	size_t n = 5;
	va_list ap;

	need_other_user();
	va_start(ap, first);
	while ((argv[n] = va_arg(ap, const char *)) != NULL)
		cr_assert(++n < MAX_ARGS);
	va_end(ap);
	tu_run_cmd(&r, NULL, argv);
	return r;
}

/* nobody makes path, an empty file of theirs, mode 0600. */
static void
nobody_plants(const char *path)
{
	struct tu_run r = as_nobody("sh", "-c", "umask 077 && : > \"$1\"",
	    "sh", path, NULL);

	cr_assert_eq(r.status, 0, "nobody cannot make %s: %s", path, r.err);
	tu_run_free(&r);
}

/*
 * nobody looks for the password in path: grep, as files hold NUL bytes
 * that would end a search of what cat prints.
 */
static void
nobody_finds_no_password(const char *path)
{
	struct tu_run r = as_nobody("grep", "-a", "-F", "-q", "--", password,
	    path, NULL);

	cr_assert_neq(r.status, 0, "nobody read the password in %s", path);
	tu_run_free(&r);
}

/* gwadmin --db DB set relay ... with the password on stdin. */
static struct tu_run
admin_set(const char *db)
{
	const char *argv[] = { "--db", db, "set", "relay",
	    "host=smtp.example.com", "auth=plain", "username=gw",
	    "--password-stdin", NULL };
	char *in = xasprintf("%s\n", password);
	struct tu_run r;

	tu_gwadmin(&r, in, argv);
	free(in);
	return r;
}

static void
admin_set_ok(const char *db)
{
	struct tu_run r = admin_set(db);

	cr_assert_eq(r.status, 0, "gwadmin set: exit %d: %s", r.status, r.err);
	tu_run_free(&r);
}

/* gwengine --db DB queue. */
static struct tu_run
engine_queue(const char *db)
{
	const char *prog = getenv("GWENGINE");
	const char *argv[] = { prog, "--db", db, "queue", NULL };
	struct tu_run r;

	cr_assert_not_null(prog, "GWENGINE is not set (run through meson test)");
	tu_run_cmd(&r, NULL, argv);
	return r;
}

/* Every name under dir with its type, mode, owner and content. */
static char *state;

static int
note_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	unsigned long long hash = 1469598103934665603ULL;
	char link[4096] = "", *data, *line;
	size_t len = 0;

	(void)flag;
	(void)ftw;
	if (S_ISREG(sb->st_mode) && (data = tu_read_file(path, &len)) != NULL) {
		for (size_t i = 0; i < len; i++)
			hash = (hash ^ (unsigned char)data[i]) *
			    1099511628211ULL;
		free(data);
	} else if (S_ISLNK(sb->st_mode) &&
	    readlink(path, link, sizeof link - 1) == -1)
		link[0] = '\0';
	line = xasprintf("%s%s %o %lu %zu %llx %s\n", state, path,
	    (unsigned)sb->st_mode, (unsigned long)sb->st_uid, len, hash, link);
	free(state);
	state = line;
	return 0;
}

/* A description of everything under dir, to tell that nothing changed. */
static char *
tree_state(const char *dir)
{
	char *s;

	state = xstrdup("");
	cr_assert_eq(nftw(dir, note_one, 16, FTW_PHYS), 0, "nftw %s", dir);
	s = state;
	state = NULL;
	return s;
}

/* r exited with code and a message that names path and says why. */
static void
expect_refused(struct tu_run *r, int code, const char *who, const char *path,
    const char *why)
{
	cr_assert_eq(r->status, code, "%s: exit %d, not %d\nstdout: %s\n"
	    "stderr: %s", who, r->status, code, r->out, r->err);
	cr_assert(strstr(r->err, path) != NULL && strstr(r->err, why) != NULL,
	    "%s: the message does not name %s or say \"%s\": %s", who, path,
	    why, r->err);
	tu_run_free(r);
}

/*
 * Both programs refuse db with code, naming path and why, and change
 * nothing under base: no file or directory made, nothing written.
 */
static void
both_refuse_with(const char *db, int code, const char *path, const char *why)
{
	char *before = tree_state(base), *after;
	struct tu_run r;

	r = admin_set(db);
	expect_refused(&r, code, "gwadmin set", path, why);
	after = tree_state(base);
	cr_assert_str_eq(after, before, "gwadmin changed files");
	free(after);

	r = engine_queue(db);
	expect_refused(&r, code, "gwengine queue", path, why);
	after = tree_state(base);
	cr_assert_str_eq(after, before, "gwengine changed files");
	free(after);
	free(before);
}

/* The permission refusal, 77. */
static void
both_refuse(const char *db, const char *path, const char *why)
{
	both_refuse_with(db, EXIT_NOPERM, path, why);
}

/* A program left running, with pipes on its stdin and stdout. */
struct bg {
	pid_t	pid;
	int	in;
	int	out;
};

/*
 * Starts argv (NULL-terminated), writes hello to it (may be NULL) and
 * waits until it prints ready.
 */
static void
bg_start(struct bg *b, const char *const *argv, const char *hello,
    const char *ready)
{
	int pin[2], pout[2];
	char *buf = xstrdup("");
	size_t len = 0;

	cr_assert(pipe2(pin, O_CLOEXEC) == 0 && pipe2(pout, O_CLOEXEC) == 0);
	b->pid = fork();
	cr_assert_neq(b->pid, -1);
	if (b->pid == 0) {
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	b->in = pin[1];
	b->out = pout[0];
	signal(SIGPIPE, SIG_IGN);
	if (hello != NULL)
		cr_assert(write(b->in, hello, strlen(hello)) ==
		    (ssize_t)strlen(hello));
	while (strstr(buf, ready) == NULL)
		cr_assert(tu_drain(b->out, &buf, &len), "%s ended: %s",
		    argv[0], buf);
	free(buf);
}

/* Writes say to it (may be NULL), ends its input, returns what it printed. */
static char *
bg_end(struct bg *b, const char *say)
{
	char *buf = xstrdup("");
	size_t len = 0;
	int status;

	if (say != NULL)
		cr_assert(write(b->in, say, strlen(say)) ==
		    (ssize_t)strlen(say));
	close(b->in);
	while (tu_drain(b->out, &buf, &len))
		;
	close(b->out);
	waitpid(b->pid, &status, 0);
	return buf;
}

/*
 * nobody opens path now (theirs, so they may) and reads it through that
 * descriptor when nobody_reads_back() says so: a descriptor keeps what
 * SQLite writes after it chowns the file to root or deletes it.
 */
static void
nobody_opens(struct bg *b, const char *path)
{
	const char *argv[] = { "runuser", "-u", "nobody", "--", "sh", "-c",
	    "exec 3<\"$1\" && echo open && read go && "
	    "exec grep -a -F -c -- \"$2\" <&3", "sh", path, password, NULL };

	need_other_user();
	bg_start(b, argv, NULL, "open\n");
}

/*
 * root's sqlite3 holds db open, so that the -wal and -shm stay, with what
 * gwadmin writes, after it ends.  End with free(bg_end(h, NULL)).
 */
static void
hold_open(struct bg *h, const char *db)
{
	const char *const argv[] = { "sqlite3", db, NULL };

	tu_need_tool("sqlite3");
	/* The shell opens the file at the first query that reads it. */
	bg_start(h, argv, "SELECT 'held' FROM (SELECT count(*) FROM "
	    "sqlite_master);\n", "held\n");
}

static void
nobody_reads_back(struct bg *b, const char *path)
{
	char *out = bg_end(b, "go\n");

	cr_assert_str_eq(out, "0\n", "nobody read the password in %s "
	    "through a descriptor opened before", path);
	free(out);
}

static const char writable[] = "writable by group or others";

/* Makes db with gwadmin while side (planted first) is out of the way. */
static void
make_db_beside(const char *db, const char *side)
{
	const char *aside = tu_fmt("%s.aside", side);

	cr_assert_eq(rename(side, aside), 0);
	admin_set_ok(db);
	cr_assert_eq(rename(aside, side), 0);
}

/* The database's own directory. */

Test(dbdir, own_directory_open_to_all_is_refused)
{
	const char *dir = mkdir_mode("open", 0777);

	both_refuse(at("open/gw.db"), dir, writable);
}

Test(dbdir, own_directory_writable_by_group_is_refused)
{
	const char *dir = mkdir_mode("team", 0770);

	both_refuse(at("team/gw.db"), dir, writable);
}

/*
 * gwadmin makes a database in base/was-private, whose mode a careless
 * admin then sets to mode.  Returns the database's path.
 */
static const char *
made_then_opened(mode_t mode)
{
	const char *dir = mkdir_mode("was-private", 0700);
	const char *db = at("was-private/gw.db");

	admin_set_ok(db);
	cr_assert_eq(chmod(dir, mode), 0);
	return db;
}

Test(dbdir, an_existing_database_in_a_directory_made_open_is_refused)
{
	const char *db = made_then_opened(0775);
	const char *dir = at("was-private");
	struct tu_run r;

	both_refuse(db, dir, writable);
	cr_assert_eq(chmod(dir, 0755), 0);
	r = engine_queue(db);
	cr_assert_eq(r.status, 0, "fixed, it opens: %s", r.err);
	tu_run_free(&r);
}

Test(dbdir, own_directory_sticky_and_open_to_all_is_refused)
{
	/* Like /tmp: sticky keeps our entries ours, not the names we want. */
	const char *dir = mkdir_mode("sticky", 01777);

	both_refuse(at("sticky/gw.db"), dir, "sticky bit");
}

Test(dbdir, a_relative_path_in_an_open_directory_is_refused)
{
	const char *dir = mkdir_mode("open", 0777);

	cr_assert_eq(chdir(dir), 0);
	both_refuse("gw.db", dir, writable);
	both_refuse("./../open/gw.db", dir, writable);
}

/* Directories on the way. */

Test(dbdir, a_directory_on_the_way_open_to_all_is_refused)
{
	const char *open = mkdir_mode("open", 0777);

	mkdir_mode("open/mine", 0700);
	both_refuse(at("open/mine/gw.db"), open, writable);
	/* And one that is still to be made: it is not made. */
	both_refuse(at("open/new/gw.db"), open, writable);
}

Test(dbdir, a_symbolic_link_on_the_way_is_refused_before_anything_is_made)
{
	const char *open = mkdir_mode("open", 0777);

	/*
	 * SQLite opens no database through a link; 78 like a database that
	 * is a link, but before the file is made.
	 */
	mkdir_mode("real", 0700);
	cr_assert_eq(symlink("real", at("link")), 0);
	both_refuse_with(at("link/gw.db"), EXIT_CONFIG, at("link"),
	    "symbolic link");
	both_refuse_with(at("link/new/gw.db"), EXIT_CONFIG, at("link"),
	    "symbolic link");
	/* A link in an open directory: that directory first. */
	mkdir_mode("open/mine", 0700);
	cr_assert_eq(symlink("mine", at("open/link")), 0);
	both_refuse(at("open/link/gw.db"), open, writable);
}

Test(dbdir, a_sticky_directory_of_roots_on_the_way_is_accepted)
{
	const char *sticky = mkdir_mode("sticky", 01777);
	const char *db = at("sticky/private/gw.db");
	struct stat sb;
	struct tu_run r;

	/* Owned by root when the tests run as root, as in CI. */
	cr_assert_eq(stat(sticky, &sb), 0);
	cr_assert(sb.st_uid == 0 || geteuid() != 0);
	admin_set_ok(db);
	cr_assert_eq(stat(at("sticky/private"), &sb), 0);
	cr_assert_eq(sb.st_mode & 07777, 0700, "made private: %o",
	    sb.st_mode & 07777);
	r = engine_queue(db);
	cr_assert_eq(r.status, 0, "gwengine queue: %s", r.err);
	tu_run_free(&r);
	/* And a database made by gwengine first. */
	r = engine_queue(at("sticky/engine/gw.db"));
	cr_assert_eq(r.status, 0, "gwengine queue: %s", r.err);
	tu_run_free(&r);
}

/* Directories of another user. */

Test(dbdir, own_directory_of_another_user_is_refused)
{
	const char *dir = mkdir_mode("theirs", 0755);

	give_to_nobody(dir);
	both_refuse(at("theirs/gw.db"), dir, "belongs to nobody");
}

Test(dbdir, an_existing_database_in_a_directory_given_away_is_refused)
{
	const char *dir = mkdir_mode("given", 0700);
	const char *db = at("given/gw.db");

	admin_set_ok(db);
	give_to_nobody(dir);
	both_refuse(db, dir, "belongs to nobody");
}

Test(dbdir, a_directory_on_the_way_of_another_user_is_refused)
{
	const char *dir = mkdir_mode("theirs", 0755);

	mkdir_mode("theirs/mine", 0700);
	give_to_nobody(dir);
	both_refuse(at("theirs/mine/gw.db"), dir, "belongs to nobody");
}

/* Files SQLite keeps beside the database. */

Test(dbdir, a_wal_of_another_user_is_refused_and_not_written)
{
	const char *db = at("trav/gw.db");
	const char *wal = at("trav/gw.db-wal");
	struct tu_run r;
	struct bg w;

	/*
	 * A -wal of another user (restored as the wrong user, say) in a
	 * directory they may pass: before the database, then beside it.
	 */
	mkdir_mode("trav", 0711);
	tu_write_file(wal, "", 0);
	give_to_nobody(wal);
	nobody_opens(&w, wal);
	r = admin_set(db);
	nobody_reads_back(&w, wal);
	expect_refused(&r, EXIT_NOPERM, "gwadmin set", wal, "belongs to nobody");
	both_refuse(db, wal, "belongs to nobody");
	make_db_beside(db, wal);
	nobody_opens(&w, wal);
	both_refuse(db, wal, "belongs to nobody");
	nobody_reads_back(&w, wal);
}

Test(dbdir, a_shm_or_journal_of_another_user_is_refused)
{
	const char *suffix[] = { "-shm", "-journal" };
	const char *db = at("trav/gw.db");

	mkdir_mode("trav", 0711);
	admin_set_ok(db);
	for (size_t i = 0; i < 2; i++) {
		const char *side = tu_fmt("%s%s", db, suffix[i]);

		tu_write_file(side, "", 0);
		give_to_nobody(side);
		both_refuse(db, side, "belongs to nobody");
		cr_assert_eq(unlink(side), 0);
	}
}

Test(dbdir, a_wal_or_shm_that_is_a_symbolic_link_is_refused)
{
	const char *suffix[] = { "-wal", "-shm" };
	const char *db = at("private/gw.db");
	const char *target = at("elsewhere");

	mkdir_mode("private", 0700);
	tu_write_file(target, "", 0);
	for (size_t i = 0; i < 2; i++) {
		const char *side = tu_fmt("%s%s", db, suffix[i]);

		/* both_refuse() also sees that target stays as it was. */
		cr_assert_eq(symlink(target, side), 0);
		both_refuse(db, side, "symbolic link");
		make_db_beside(db, side);
		both_refuse(db, side, "symbolic link");
		cr_assert_eq(unlink(side), 0);
		cr_assert_eq(unlink(db), 0);
	}
}

/* What another user can do. */

/*
 * nobody puts an empty database of theirs at db, in dir that they may
 * write in: gwadmin refuses it and writes no password into it.
 */
static void
planted_database_refused(const char *db, const char *dir)
{
	struct tu_run r;

	nobody_plants(db);
	r = admin_set(db);
	nobody_finds_no_password(db);
	expect_refused(&r, EXIT_NOPERM, "gwadmin set", dir, writable);
}

Test(dbdir, another_user_cannot_plant_the_database_in_an_open_directory)
{
	const char *dir = mkdir_mode("open", 0777);

	planted_database_refused(at("open/gw.db"), dir);
}

Test(dbdir, another_user_cannot_swap_the_database_in_an_open_directory)
{
	const char *db = made_then_opened(0777);
	struct tu_run r;

	r = as_nobody("mv", db, at("was-private/moved.db"), NULL);
	cr_assert_eq(r.status, 0, "nobody moves it away: %s", r.err);
	tu_run_free(&r);
	planted_database_refused(db, at("was-private"));
}

Test(dbdir, another_user_cannot_plant_a_wal_in_a_sticky_directory)
{
	const char *dir = mkdir_mode("sticky", 01777);
	const char *db = at("sticky/gw.db");
	const char *wal = at("sticky/gw.db-wal");
	struct tu_run r;
	struct bg w;

	/* nobody makes the -wal before the database exists, and keeps it open. */
	nobody_plants(wal);
	nobody_opens(&w, wal);
	r = admin_set(db);
	nobody_reads_back(&w, wal);
	expect_refused(&r, EXIT_NOPERM, "gwadmin set", dir, "sticky bit");
	cr_assert_neq(access(db, F_OK), 0, "no database was made");
}

/*
 * In a layout the programs accept, root sets a password while a reader
 * holds the database open; nobody then tries every file under top.
 */
static void
nobody_cannot_read(const char *top, const char *db)
{
	struct bg h;
	struct tu_run r;
	char *names, *line, *next, *wal;
	size_t len;

	need_other_user();
	/*
	 * gwengine makes the database; root's reader then keeps the -wal
	 * that gwadmin writes the password into.
	 */
	r = engine_queue(db);
	cr_assert_eq(r.status, 0, "gwengine queue: %s", r.err);
	tu_run_free(&r);
	hold_open(&h, db);
	admin_set_ok(db);
	wal = tu_read_file(tu_fmt("%s-wal", db), &len);
	cr_assert(wal != NULL && memmem(wal, len, password,
	    strlen(password)) != NULL, "the password is in the -wal");
	free(wal);

	r = as_nobody("cat", db, NULL);
	cr_assert_neq(r.status, 0, "nobody reads the database");
	tu_run_free(&r);
	nobody_finds_no_password(db);
	r = as_nobody("sqlite3", "-readonly", db,
	    "SELECT password FROM profiles", NULL);
	cr_assert_neq(r.status, 0, "nobody opens the database");
	cr_assert_null(strstr(r.out, password));
	tu_run_free(&r);
	r = as_nobody("grep", "-r", "-a", "-l", password, top, NULL);
	cr_assert_str_eq(r.out, "", "nobody finds the password in: %s",
	    r.out);
	tu_run_free(&r);

	/* Each file root sees, by name, as nobody. */
	{
		const char *argv[] = { "find", top, "-type", "f", NULL };

		tu_run_cmd(&r, NULL, argv);
	}
	cr_assert_eq(r.status, 0);
	names = r.out;
	cr_assert(strstr(names, "-wal\n") != NULL, "no -wal: %s", names);
	for (line = names; *line != '\0'; line = next) {
		next = line + strcspn(line, "\n");
		if (*next != '\0')
			*next++ = '\0';
		nobody_finds_no_password(line);
	}
	tu_run_free(&r);

	/* Nor move the database or its directory away. */
	r = as_nobody("mv", db, tu_fmt("%s.moved", db), NULL);
	cr_assert_neq(r.status, 0, "nobody moved the database");
	tu_run_free(&r);
	free(bg_end(&h, NULL));
	cr_assert_eq(access(db, F_OK), 0);
}

Test(dbdir, another_user_cannot_read_a_password_under_a_sticky_directory)
{
	const char *sticky = mkdir_mode("sticky", 01777);
	const char *db = at("sticky/private/gw.db");
	struct tu_run r;

	nobody_cannot_read(sticky, db);
	r = as_nobody("mv", at("sticky/private"), at("sticky/moved"), NULL);
	cr_assert_neq(r.status, 0, "nobody moved the directory");
	tu_run_free(&r);
}

Test(dbdir, another_user_cannot_read_a_password_in_a_directory_they_may_list)
{
	mkdir_mode("shared", 0755);
	nobody_cannot_read(at("shared"), at("shared/gw.db"));
}

Test(dbdir, another_user_cannot_read_a_password_in_a_directory_they_may_pass)
{
	mkdir_mode("trav", 0711);
	nobody_cannot_read(at("trav"), at("trav/gw.db"));
}

Test(dbdir, another_user_cannot_read_a_password_in_a_directory_gwadmin_made)
{
	/* As $XDG_DATA_HOME/gwsmtp/gwsmtp.db is made. */
	mkdir_mode("xdg", 0755);
	nobody_cannot_read(at("xdg"), at("xdg/gwsmtp/gwsmtp.db"));
}

Test(dbdir, root_may_use_the_database_of_another_user)
{
	/* Like the service's, /var/lib/gwsmtp, which root administers. */
	const char *dir = mkdir_mode("svc", 0700);
	const char *db = at("svc/gw.db");
	const char *side[] = { "-wal", "-shm" };
	struct stat sb;
	struct tu_run r;
	struct bg h;

	admin_set_ok(db);
	give_to_nobody(dir);
	give_to_nobody(db);
	hold_open(&h, db);
	admin_set_ok(db);
	for (size_t i = 0; i < 2; i++) {
		const char *path = tu_fmt("%s%s", db, side[i]);

		cr_assert_eq(stat(path, &sb), 0, "%s: %s", path,
		    strerror(errno));
		cr_assert_eq(sb.st_uid, getpwnam("nobody")->pw_uid,
		    "%s is the database owner's", path);
	}
	r = engine_queue(db);
	cr_assert_eq(r.status, 0, "gwengine queue: %s", r.err);
	tu_run_free(&r);
	free(bg_end(&h, NULL));
}
