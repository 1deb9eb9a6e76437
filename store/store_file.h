/*
 * store/store_file.h: the file rules of a database kept in one file (SPEC
 * section 4), private to store/: what the SQLite backend checks and makes
 * before SQLite opens the file.  No SQL here.
 */
#ifndef GWSMTP_STORE_STORE_FILE_H
#define GWSMTP_STORE_STORE_FILE_H

/*
 * Makes path safe to open: checks the directories on its way and the
 * -wal, -shm and -journal files beside it, creates the missing directories
 * 0700 and a missing database file 0600, and checks an existing one.
 * STORE_OK, or STORE_PERM (having created nothing when another user could
 * read or swap the database), STORE_BADFILE (a symbolic link, not a
 * regular file) or STORE_ERROR, with *cause.
 */
int	 store_file_prepare(const char *path, char **cause);
/* The directory that holds path ("." or "/" where it names none).  Caller
 * frees. */
char	*store_file_dir(const char *path);

#endif
