/*
 * tui/cli.h: gwadmin's scripting subcommands (list, show, set, delete,
 * settings, import, export, copy).  No curses here: these run without a
 * terminal.
 */
#ifndef GWSMTP_TUI_CLI_H
#define GWSMTP_TUI_CLI_H

#include <stdbool.h>
#include <stddef.h>

struct store;

/* gwadmin's entry point; returns a sysexits.h code. */
int	 gwadmin_main(int argc, char **argv);

/* Shared by the subcommand files. */

/* Prints "gwadmin: " + message to stderr. */
void	 cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * Opens the store at path; on failure prints the reason and returns the
 * exit code to use (0 on success).
 */
int	 cli_open_store(const char *path, struct store **out);
struct diag_list;
/* Prints each diag on stderr: "gwadmin: PREFIX[SOURCE:LINE:COL: ]...". */
void	 cli_print_diags(const struct diag_list *list, const char *source,
	     const char *prefix);
/* The exit code for a store status, printing cause (then freed). */
int	 cli_store_failed(int status, char *cause);

/*
 * Progress on standard error when show (a terminal, a long job):
 * "\rVERB: DONE of TOTAL UNIT" every 1000 and at the end, where the line
 * is cleared again.
 */
void	 cli_progress(const char *verb, const char *unit, size_t done,
	     size_t total, bool show);

int	 cli_import(const char *db, int argc, char **argv);
int	 cli_export(const char *db, int argc, char **argv);
int	 cli_copy(const char *db, int argc, char **argv);

#endif
