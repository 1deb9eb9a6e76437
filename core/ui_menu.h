/*
 * core/ui_menu.h: the menu tree (as data) and the state of walking it,
 * without curses.  Only items that lead somewhere that works are in the
 * tree: a protocol added later is one more entry in ui_menu_tree.
 */
#ifndef GWSMTP_CORE_UI_MENU_H
#define GWSMTP_CORE_UI_MENU_H

#include <stddef.h>

/* What a leaf opens. */
enum ui_action {
	UI_ACTION_NONE,
	UI_ACTION_SMTP,		/* the SMTP screen */
	UI_ACTION_QUIT
};

struct ui_menu_item {
	const char			*label;
	const char			*help;		/* one line */
	enum ui_action			 action;	/* leaf: what it opens */
	const struct ui_menu_item	*children;	/* branch */
	size_t				 nchildren;
};

/* The root: "Main menu" > Connectivity > Internet protocols > MAIL > SMTP. */
extern const struct ui_menu_item ui_menu_tree;

#define UI_MENU_DEPTH	8

struct ui_menu {
	const struct ui_menu_item	*path[UI_MENU_DEPTH];	/* [0] root */
	size_t				 sel[UI_MENU_DEPTH];
	size_t				 depth;		/* path[depth] is shown */
	enum ui_action			 action;	/* after UI_MENU_OPEN */
};

enum ui_menu_result {
	UI_MENU_IGNORED,
	UI_MENU_CHANGED,	/* redraw */
	UI_MENU_OPEN,		/* open m->action */
	UI_MENU_QUIT
};

void	 ui_menu_init(struct ui_menu *m, const struct ui_menu_item *root);
const struct ui_menu_item *ui_menu_current(const struct ui_menu *m);
size_t	 ui_menu_selected(const struct ui_menu *m);
/* "Main menu > Connectivity > ...": caller frees. */
char	*ui_menu_breadcrumb(const struct ui_menu *m);
/*
 * Up/Down (wrapping), Home/End move; Enter or Right opens; Esc or Left
 * goes back (at the root Esc quits); F10 quits; a letter jumps to the next
 * item beginning with it (case-insensitive, wrapping).
 */
enum ui_menu_result ui_menu_key(struct ui_menu *m, int key);

#endif
