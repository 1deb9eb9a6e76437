/*
 * core/diag.h: a list of diagnostics, each naming where (line, column),
 * which profile, which key and why.
 *
 * Validation and the import codecs collect every error into one list instead
 * of stopping at the first, so an administrator fixes a file in one pass.
 * This module only stores and formats; it decides nothing.
 */
#ifndef GWSMTP_CORE_DIAG_H
#define GWSMTP_CORE_DIAG_H

#include <stddef.h>

struct diag {
	int	 line;		/* 1-based; 0 when not from a file */
	int	 column;	/* 1-based; 0 when unknown or not applicable */
	char	*profile;	/* profile name, NULL if none */
	char	*key;		/* key name, NULL if none */
	char	*reason;
};

struct diag_list {
	struct diag	*v;
	size_t		 n;
	size_t		 cap;
};

void	 diag_add(struct diag_list *list, int line, int column,
	     const char *profile, const char *key, const char *fmt, ...)
	     __attribute__((format(printf, 6, 7)));
/* Sets line and column on the entries from index 'from' on that have none. */
void	 diag_locate(struct diag_list *list, size_t from, int line, int column);
void	 diag_list_clear(struct diag_list *list);
/*
 * Puts the entries from index 'from' on in file order (line, then column;
 * stable, so entries at one place keep the order they were found in), as a
 * person reads the file.
 */
void	 diag_sort(struct diag_list *list, size_t from);

/*
 * One line: "SOURCE:LINE:COL: profile 'NAME': KEY: REASON", leaving out the
 * parts that are not known.  SOURCE may be NULL.  Caller frees.
 */
char	*diag_format(const struct diag *d, const char *source);

#endif
