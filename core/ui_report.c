/*
 * core/ui_report.c: see ui_report.h.
 */
#include "core/ui_report.h"

#include <stdlib.h>
#include <string.h>

#include "core/ui_key.h"
#include "core/xmalloc.h"

void
ui_report_open(struct ui_report *r, const char *title)
{
	ui_report_clear(r);
	r->active = true;
	r->running = true;
	r->title = xstrdup(title);
}

void
ui_report_clear(struct ui_report *r)
{
	for (size_t i = 0; i < r->nlines; i++)
		free(r->lines[i]);
	free(r->lines);
	free(r->partial);
	free(r->title);
	memset(r, 0, sizeof *r);
}

static void
add_line(struct ui_report *r, const char *s, size_t len)
{
	r->lines = xreallocarray(r->lines, r->nlines + 1, sizeof *r->lines);
	r->lines[r->nlines++] = xstrndup(s, len);
}

void
ui_report_append(struct ui_report *r, const char *buf, size_t len)
{
	char *all, *p, *nl;
	size_t plen = r->partial ? strlen(r->partial) : 0;

	all = xmalloc(plen + len + 1);
	if (plen)
		memcpy(all, r->partial, plen);
	memcpy(all + plen, buf, len);
	all[plen + len] = '\0';
	free(r->partial);
	r->partial = NULL;
	for (p = all; (nl = memchr(p, '\n', (size_t)(all + plen + len - p)))
	    != NULL; p = nl + 1)
		add_line(r, p, (size_t)(nl - p));
	if (*p != '\0')
		r->partial = xstrdup(p);
	free(all);
}

void
ui_report_finish(struct ui_report *r, const char *line)
{
	if (r->partial != NULL) {
		add_line(r, r->partial, strlen(r->partial));
		free(r->partial);
		r->partial = NULL;
	}
	if (line != NULL)
		add_line(r, line, strlen(line));
	r->running = false;
}

bool
ui_report_key(struct ui_report *r, int key)
{
	size_t page = r->height > 1 ? r->height - 1 : 1;
	size_t max = r->nlines > r->height ? r->nlines - r->height : 0;

	switch (key) {
	case UI_KEY_UP:
		if (r->top > 0)
			r->top--;
		return true;
	case UI_KEY_DOWN:
		if (r->top < max)
			r->top++;
		return true;
	case UI_KEY_PGUP:
		r->top = r->top > page ? r->top - page : 0;
		return true;
	case UI_KEY_PGDN:
		r->top = r->top + page < max ? r->top + page : max;
		return true;
	case UI_KEY_HOME:
		r->top = 0;
		return true;
	case UI_KEY_END:
		r->top = max;
		return true;
	}
	return false;
}
