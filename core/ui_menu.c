/*
 * core/ui_menu.c: the menu tree and menu navigation (see ui_menu.h).
 */
#include "core/ui_menu.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/ui_key.h"
#include "core/xmalloc.h"

static const struct ui_menu_item mail_items[] = {
	{ "SMTP", "SMTP client: the profiles gwengine sends through",
	    UI_ACTION_SMTP, NULL, 0 },
};

static const struct ui_menu_item internet_items[] = {
	{ "MAIL", "Mail protocols", UI_ACTION_NONE, mail_items,
	    sizeof mail_items / sizeof mail_items[0] },
};

static const struct ui_menu_item connectivity_items[] = {
	{ "Internet protocols", "Protocols over TCP/IP", UI_ACTION_NONE,
	    internet_items, sizeof internet_items / sizeof internet_items[0] },
};

static const struct ui_menu_item root_items[] = {
	{ "Connectivity", "Protocols and their settings", UI_ACTION_NONE,
	    connectivity_items,
	    sizeof connectivity_items / sizeof connectivity_items[0] },
	{ "Quit", "Leave gwadmin", UI_ACTION_QUIT, NULL, 0 },
};

const struct ui_menu_item ui_menu_tree = {
	"Main menu", NULL, UI_ACTION_NONE, root_items,
	sizeof root_items / sizeof root_items[0]
};

void
ui_menu_init(struct ui_menu *m, const struct ui_menu_item *root)
{
	memset(m, 0, sizeof *m);
	m->path[0] = root;
}

const struct ui_menu_item *
ui_menu_current(const struct ui_menu *m)
{
	return m->path[m->depth];
}

size_t
ui_menu_selected(const struct ui_menu *m)
{
	return m->sel[m->depth];
}

char *
ui_menu_breadcrumb(const struct ui_menu *m)
{
	char *s = xstrdup(m->path[0]->label), *t;

	for (size_t i = 1; i <= m->depth; i++) {
		t = xasprintf("%s > %s", s, m->path[i]->label);
		free(s);
		s = t;
	}
	return s;
}

static enum ui_menu_result
open_item(struct ui_menu *m)
{
	const struct ui_menu_item *cur = ui_menu_current(m);
	const struct ui_menu_item *it = &cur->children[m->sel[m->depth]];

	if (it->nchildren > 0 && m->depth + 1 < UI_MENU_DEPTH) {
		m->path[++m->depth] = it;
		m->sel[m->depth] = 0;
		return UI_MENU_CHANGED;
	}
	if (it->action == UI_ACTION_QUIT)
		return UI_MENU_QUIT;
	if (it->action == UI_ACTION_NONE)
		return UI_MENU_CHANGED;
	m->action = it->action;
	return UI_MENU_OPEN;
}

enum ui_menu_result
ui_menu_key(struct ui_menu *m, int key)
{
	const struct ui_menu_item *cur = ui_menu_current(m);
	size_t n = cur->nchildren, *sel = &m->sel[m->depth];

	switch (key) {
	case UI_KEY_UP:
		*sel = (*sel + n - 1) % n;
		return UI_MENU_CHANGED;
	case UI_KEY_DOWN:
		*sel = (*sel + 1) % n;
		return UI_MENU_CHANGED;
	case UI_KEY_HOME:
	case UI_KEY_PGUP:
		*sel = 0;
		return UI_MENU_CHANGED;
	case UI_KEY_END:
	case UI_KEY_PGDN:
		*sel = n - 1;
		return UI_MENU_CHANGED;
	case UI_KEY_ENTER:
	case UI_KEY_RIGHT:
		return open_item(m);
	case UI_KEY_ESC:
	case UI_KEY_LEFT:
	case UI_KEY_BACKSPACE:
		if (m->depth == 0)
			return key == UI_KEY_ESC ? UI_MENU_QUIT :
			    UI_MENU_CHANGED;
		m->depth--;
		return UI_MENU_CHANGED;
	case UI_KEY_F10:
		return UI_MENU_QUIT;
	}
	if (key < 0x80 && isalnum(key)) {
		for (size_t i = 1; i <= n; i++) {
			size_t j = (*sel + i) % n;

			if (tolower((unsigned char)cur->children[j].label[0]) ==
			    tolower(key)) {
				*sel = j;
				return UI_MENU_CHANGED;
			}
		}
		return UI_MENU_CHANGED;
	}
	return UI_MENU_IGNORED;
}
