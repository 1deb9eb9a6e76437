/*
 * tui/view_menu.c: draws the menu (core/ui_menu.h).
 */
#include <stdlib.h>

#include "tui/view.h"
#include "tui/view_util.h"

void
view_menu_draw(WINDOW *w, const struct ui_menu *m)
{
	const struct ui_menu_item *cur = ui_menu_current(m);
	size_t sel = ui_menu_selected(m);
	int W = getmaxx(w);
	char *crumb;

	werase(w);
	if (!view_fits(w)) {
		view_too_small(w, NULL);
		return;
	}
	crumb = ui_menu_breadcrumb(m);
	vu_frame(w, crumb, cur->children[sel].help, false,
	    m->depth == 0 ? "Up/Down move  Enter open  letter jump  "
	    "Esc quit  F10 quit" : "Up/Down move  Enter open  letter jump  "
	    "Esc back  F10 quit");
	free(crumb);
	vu_put(w, 2, 3, cur->label, W - 6, vu_attr(VS_TITLE));
	for (size_t i = 0; i < cur->nchildren; i++) {
		const struct ui_menu_item *it = &cur->children[i];
		attr_t a = i == sel ? vu_attr(VS_FOCUS) : A_NORMAL;
		int y = 4 + (int)i;

		mvwaddch(w, y, 3, i == sel ? '>' : ' ');
		vu_fill(w, y, 5, 30, a);
		vu_put(w, y, 6, it->label, 24, a | A_BOLD);
		if (it->nchildren > 0)
			vu_put(w, y, 32, ">", 1, a);
	}
	curs_set(0);
}
