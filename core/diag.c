/*
 * core/diag.c: a list of located diagnostics.
 */
#include "core/diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "core/xmalloc.h"

void
diag_add(struct diag_list *list, int line, int column, const char *profile,
    const char *key, const char *fmt, ...)
{
	struct diag *d;
	va_list ap;

	if (list->n == list->cap) {
		list->cap = list->cap ? list->cap * 2 : 8;
		list->v = xreallocarray(list->v, list->cap, sizeof *list->v);
	}
	d = &list->v[list->n++];
	d->line = line;
	d->column = column;
	/* Names may come from a bad file: keep them printable. */
	d->profile = profile ? text_escape(profile) : NULL;
	d->key = key ? text_escape(key) : NULL;
	va_start(ap, fmt);
	d->reason = xvasprintf(fmt, ap);
	va_end(ap);
}

void
diag_locate(struct diag_list *list, size_t from, int line, int column)
{
	for (size_t i = from; i < list->n; i++) {
		if (list->v[i].line == 0) {
			list->v[i].line = line;
			list->v[i].column = column;
		}
	}
}

void
diag_list_clear(struct diag_list *list)
{
	for (size_t i = 0; i < list->n; i++) {
		free(list->v[i].profile);
		free(list->v[i].key);
		free(list->v[i].reason);
	}
	free(list->v);
	memset(list, 0, sizeof *list);
}

struct sorted {
	struct diag	 d;
	size_t		 i;
};

static int
sorted_cmp(const void *a, const void *b)
{
	const struct sorted *x = a, *y = b;

	if (x->d.line != y->d.line)
		return x->d.line < y->d.line ? -1 : 1;
	if (x->d.column != y->d.column)
		return x->d.column < y->d.column ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

void
diag_sort(struct diag_list *list, size_t from)
{
	size_t n = list->n - from;
	struct sorted *v;

	if (from >= list->n || n < 2)
		return;
	v = xreallocarray(NULL, n, sizeof *v);
	for (size_t i = 0; i < n; i++) {
		v[i].d = list->v[from + i];
		v[i].i = i;
	}
	qsort(v, n, sizeof *v, sorted_cmp);
	for (size_t i = 0; i < n; i++)
		list->v[from + i] = v[i].d;
	free(v);
}

char *
diag_format(const struct diag *d, const char *source)
{
	char *where, *who, *out;

	if (d->line > 0 && d->column > 0)
		where = xasprintf("%s%s%d:%d: ", source ? source : "",
		    source ? ":" : "", d->line, d->column);
	else if (d->line > 0)
		where = xasprintf("%s%s%d: ", source ? source : "",
		    source ? ":" : "", d->line);
	else if (source != NULL)
		where = xasprintf("%s: ", source);
	else
		where = xstrdup("");
	who = xasprintf("%s%s%s%s%s", d->profile ? "profile '" : "",
	    d->profile ? d->profile : "", d->profile ? "': " : "",
	    d->key ? d->key : "", d->key ? ": " : "");
	out = xasprintf("%s%s%s", where, who, d->reason);
	free(where);
	free(who);
	return out;
}
