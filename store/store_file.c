/*
 * store/store_file.c: the file rules of SPEC section 4 for a database kept
 * in one file, and where that file is when none is given.
 *
 * The database is created 0600 in a 0700 directory and refused when group
 * or others can read it, or when another user could swap it or read what
 * SQLite writes beside it: a directory on its path that is theirs or that
 * they may write in, a -wal, -shm or -journal file that is theirs, loose
 * or not a regular file.  All of it is checked before anything is made.
 *
 * It runs no SQL and does not include sqlite3.h: opening the file and
 * everything after is store/sqlite_db.c's.
 */
#include "store/store_file.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/xmalloc.h"
#include "store/backend.h"

#define nitems(a)	(sizeof (a) / sizeof (a)[0])

/* Creates the missing directories above path, each mode 0700. */
static int
make_dirs(const char *path, char **cause)
{
	struct stat	 sb;
	char		*dir, *slash, c;
	int		 status = STORE_ERROR;

	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir) {
		free(dir);
		return STORE_OK;	/* the current or root directory */
	}
	*slash = '\0';
	if (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		free(dir);
		return STORE_OK;
	}
	for (slash = dir + 1;; slash++) {
		if (*slash != '/' && *slash != '\0')
			continue;
		c = *slash;
		*slash = '\0';
		if (mkdir(dir, 0700) == 0) {
			/* mkdir's mode passes through the umask; be exact. */
			if (chmod(dir, 0700) != 0) {
				store_set_cause(cause, "cannot set the mode of "
				    "%s: %s", dir, strerror(errno));
				goto fail;
			}
		} else if (errno != EEXIST) {
			store_set_cause(cause, "cannot create the directory "
			    "%s: %s", dir, strerror(errno));
			status = errno == EACCES ? STORE_PERM : STORE_ERROR;
			goto fail;
		} else if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
			store_set_cause(cause, "%s is in the way of the "
			    "database directory: it is not a directory", dir);
			goto fail;
		}
		if (c == '\0')
			break;
		*slash = c;
	}
	status = STORE_OK;
fail:
	free(dir);
	return status;
}

/*
 * Whose the database is: the owner of its file, or the running user when
 * there is no file yet.  The directories on its path and the files SQLite
 * keeps beside it must be that user's (directories may also be root's).
 */
static uid_t
db_owner(const char *path)
{
	struct stat	sb;

	return lstat(path, &sb) == 0 ? sb.st_uid : geteuid();
}

/*
 * A directory on the way to the database, or (own) the one that holds it:
 * STORE_PERM when a user other than owner and root could change what it
 * holds, because it is theirs or group or others may write in it.  The
 * sticky bit makes the latter safe on the way (as in /tmp, nobody else may
 * move our entry) but not in the database's own directory, where another
 * user could still create the -wal file before SQLite does and then read
 * the passwords SQLite writes into it.
 */
static int
check_dir(const char *dir, uid_t owner, bool own, char **cause)
{
	struct stat	 sb;
	char		*who, *whose;

	if (lstat(dir, &sb) != 0) {
		store_set_cause(cause, "cannot stat %s: %s", dir,
		    strerror(errno));
		return errno == EACCES ? STORE_PERM : STORE_ERROR;
	}
	if (sb.st_uid != owner && sb.st_uid != 0) {
		who = store_user_name(sb.st_uid);
		whose = store_user_name(owner);
		store_set_cause(cause, "%s belongs to %s, who could put a "
		    "database of their own in place of this one and read the "
		    "passwords written into it; refusing to use it.  The "
		    "directories on its path must belong to %s%s", dir, who,
		    owner == 0 ? "root" : whose,
		    owner == 0 ? "" : " (the database's owner) or root");
		free(who);
		free(whose);
		return STORE_PERM;
	}
	if ((sb.st_mode & (S_IWGRP | S_IWOTH)) == 0 ||
	    (!own && (sb.st_mode & S_ISVTX) != 0))
		return STORE_OK;
	if ((sb.st_mode & S_ISVTX) != 0)
		store_set_cause(cause, "%s, which holds the database, is "
		    "writable by group or others (mode %04o): even with the "
		    "sticky bit, another user could create the -wal file that "
		    "SQLite writes passwords into; refusing to use it.  Keep "
		    "the database in a directory of its own, made with mkdir "
		    "-m 700", dir, (unsigned)(sb.st_mode & 07777));
	else
		store_set_cause(cause, "%s is writable by group or others "
		    "(mode %04o), so another user could move the database away "
		    "and put one of their own in its place; refusing to use "
		    "it.  Make it private with: chmod go-w %s", dir,
		    (unsigned)(sb.st_mode & 07777), dir);
	return STORE_PERM;
}

/*
 * Checks each directory on the way to the one that holds path, then that
 * one.  A symbolic link on the way is refused (STORE_BADFILE): SQLite,
 * opened with SQLITE_OPEN_NOFOLLOW, would refuse it too, but only once the
 * file was made.  Stops without error at the first name that is missing
 * or not a directory: make_dirs() creates the rest 0700, or says what is
 * in the way.
 */
static int
check_dirs(const char *path, uid_t owner, char **cause)
{
	struct stat	 sb;
	char		*todo, *rest, *name, *cur, *next, *up, *real;
	int		 status = STORE_OK;

	if (*path == '/')
		todo = xstrdup(path);
	else {
		if ((cur = getcwd(NULL, 0)) == NULL) {
			store_set_cause(cause, "cannot find the current "
			    "directory: %s", strerror(errno));
			return STORE_ERROR;
		}
		todo = xasprintf("%s/%s", cur, path);
		free(cur);
	}
	*strrchr(todo, '/') = '\0';	/* the database's own name */
	cur = xstrdup("/");
	for (rest = todo;;) {
		rest += strspn(rest, "/");
		if (*rest == '\0')
			break;
		name = rest;
		rest += strcspn(rest, "/");
		if (*rest != '\0')
			*rest++ = '\0';
		if (strcmp(name, ".") == 0)
			continue;
		/* name is looked up in cur: whoever controls cur decides. */
		if ((status = check_dir(cur, owner, false, cause)) != STORE_OK)
			goto out;
		if (strcmp(name, "..") == 0) {
			if ((up = strrchr(cur, '/')) == cur)
				up++;
			*up = '\0';
			continue;
		}
		next = xasprintf("%s/%s", strcmp(cur, "/") == 0 ? "" : cur,
		    name);
		if (lstat(next, &sb) != 0 ||
		    !(S_ISDIR(sb.st_mode) || S_ISLNK(sb.st_mode))) {
			free(next);
			goto out;
		}
		if (S_ISLNK(sb.st_mode)) {
			real = realpath(next, NULL);
			store_set_cause(cause, "%s is a symbolic link (to %s), "
			    "and SQLite opens no database through one; give "
			    "the database's path without links", next,
			    real != NULL ? real : "nothing that exists");
			free(real);
			free(next);
			status = STORE_BADFILE;
			goto out;
		}
		free(cur);
		cur = next;
	}
	status = check_dir(cur, owner, true, cause);
out:
	free(todo);
	free(cur);
	return status;
}

/* STORE_PERM with the fix when group or others may open path. */
static int
check_mode(const char *path, const struct stat *sb, char **cause)
{
	if ((sb->st_mode & 077) != 0) {
		store_set_cause(cause, "%s is open to group or others (mode "
		    "%04o) and holds passwords; refusing to use it.  Make it "
		    "private with: chmod 600 %s", path,
		    (unsigned)(sb->st_mode & 07777), path);
		return STORE_PERM;
	}
	return STORE_OK;
}

/*
 * A file SQLite keeps beside the database (-wal, -shm, -journal), if there
 * is one: SQLite opens it, following a symbolic link, and writes pages of
 * the database into it, so it must be a regular file of the database's
 * owner that group and others cannot open.
 */
static int
check_side(const char *side, uid_t owner, char **cause)
{
	struct stat	 sb;
	char		*who, *whose;

	if (lstat(side, &sb) != 0) {
		if (errno == ENOENT)
			return STORE_OK;
		store_set_cause(cause, "cannot stat %s: %s", side,
		    strerror(errno));
		return errno == EACCES ? STORE_PERM : STORE_ERROR;
	}
	if (!S_ISREG(sb.st_mode)) {
		store_set_cause(cause, "%s is %s, not a regular file, and "
		    "SQLite would write the database's pages, passwords "
		    "included, through it; refusing to use it.  Remove it",
		    side, S_ISLNK(sb.st_mode) ? "a symbolic link" :
		    S_ISDIR(sb.st_mode) ? "a directory" : "a special file");
		return STORE_PERM;
	}
	if (sb.st_uid != owner) {
		who = store_user_name(sb.st_uid);
		whose = store_user_name(owner);
		store_set_cause(cause, "%s belongs to %s, not to %s who owns "
		    "the database, so %s could read the passwords SQLite would "
		    "write into it; refusing to use it.  Remove it, or if it "
		    "is this database's own: chown %s %s", side, who, whose,
		    who, whose, side);
		free(who);
		free(whose);
		return STORE_PERM;
	}
	return check_mode(side, &sb, cause);
}

/*
 * Checks the files SQLite keeps beside the database, then creates the
 * database file 0600 if it is missing, so that SQLite's -wal and -shm
 * (which copy the database file's mode and owner) are private too;
 * otherwise checks that the file is regular and private.
 */
static int
prepare_file(const char *path, uid_t owner, char **cause)
{
	struct stat	 sb;
	const char	*suffix[] = { "-wal", "-shm", "-journal" };
	char		*side;
	size_t		 i;
	int		 fd, status;

	/* Even for a new database: SQLite would open one left there. */
	for (i = 0; i < nitems(suffix); i++) {
		side = xasprintf("%s%s", path, suffix[i]);
		status = check_side(side, owner, cause);
		free(side);
		if (status != STORE_OK)
			return status;
	}

	fd = open(path, O_RDWR|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, 0600);
	if (fd != -1) {
		/* The umask may have taken bits away; 0600 exactly. */
		if (fchmod(fd, 0600) != 0) {
			store_set_cause(cause, "cannot set the mode of %s: %s",
			    path, strerror(errno));
			close(fd);
			return STORE_ERROR;
		}
		close(fd);
		return STORE_OK;
	}
	if (errno != EEXIST) {
		store_set_cause(cause, "cannot create %s: %s", path,
		    strerror(errno));
		return errno == EACCES ? STORE_PERM : STORE_ERROR;
	}

	/*
	 * lstat and access, never open: another connection of this process
	 * (gwengine's workers) may hold POSIX locks on the file, and closing
	 * any descriptor of it would drop them all.
	 */
	if (lstat(path, &sb) != 0) {
		store_set_cause(cause, "cannot stat %s: %s", path,
		    strerror(errno));
		return errno == EACCES ? STORE_PERM : STORE_ERROR;
	}
	if (S_ISLNK(sb.st_mode)) {
		store_set_cause(cause, "%s is a symbolic link; give the path "
		    "of the database file itself", path);
		return STORE_BADFILE;
	}
	if (!S_ISREG(sb.st_mode)) {
		store_set_cause(cause, "%s is %s; give the path of a gwsmtp "
		    "database or of a new file", path, S_ISDIR(sb.st_mode) ?
		    "a directory" : "not a regular file");
		return STORE_BADFILE;
	}
	if (faccessat(AT_FDCWD, path, R_OK | W_OK, AT_EACCESS) != 0) {
		store_set_cause(cause, "cannot open %s for reading and "
		    "writing: %s; it must belong to the user running this "
		    "program", path, strerror(errno));
		return errno == EACCES || errno == EPERM ? STORE_PERM :
		    STORE_ERROR;
	}
	return check_mode(path, &sb, cause);
}

int
store_file_prepare(const char *path, char **cause)
{
	uid_t	owner;
	int	status;

	/*
	 * The directories before anything is created, and again after
	 * make_dirs(): another user may have made a missing one first.
	 */
	owner = db_owner(path);
	if ((status = check_dirs(path, owner, cause)) != STORE_OK ||
	    (status = make_dirs(path, cause)) != STORE_OK ||
	    (status = check_dirs(path, owner, cause)) != STORE_OK ||
	    (status = prepare_file(path, owner, cause)) != STORE_OK)
		return status;
	return STORE_OK;
}

char *
store_default_path(char **cause)
{
	const char	*env, *home;
	struct passwd	*pw;
	size_t		 len;

	if ((env = getenv("GWSMTP_DB")) != NULL && *env != '\0')
		return xstrdup(env);
	/* The XDG spec says to ignore a relative XDG_DATA_HOME. */
	if ((env = getenv("XDG_DATA_HOME")) != NULL && *env == '/') {
		len = strlen(env);
		while (len > 1 && env[len - 1] == '/')
			len--;
		return xasprintf("%.*s/gwsmtp/gwsmtp.db", (int)len, env);
	}
	if ((home = getenv("HOME")) == NULL || *home != '/') {
		pw = getpwuid(getuid());
		home = pw != NULL ? pw->pw_dir : NULL;
	}
	if (home == NULL || *home != '/') {
		store_set_cause(cause, "no home directory is known for the "
		    "database; set HOME or GWSMTP_DB, or give --db PATH");
		return NULL;
	}
	len = strlen(home);
	while (len > 1 && home[len - 1] == '/')
		len--;
	if (len == 1)
		len = 0;	/* home is "/" */
	return xasprintf("%.*s/.local/share/gwsmtp/gwsmtp.db", (int)len, home);
}

char *
store_file_dir(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}
