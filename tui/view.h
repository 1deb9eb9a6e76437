/*
 * tui/view.h: the menu's views.  Each draws one model into a curses
 * window and changes nothing: state lives in the models (core/ui_*.h).
 * Callable on any WINDOW, e.g. one from newterm() on /dev/null in tests.
 *
 * Text from the store goes through text_escape() before it is drawn.
 * Layout: breadcrumb on the top row, a message line and a status line
 * (what the keys do here) on the two bottom rows.  Usable down to
 * VIEW_MIN_COLS x VIEW_MIN_ROWS; below that view_too_small() says so
 * instead, and the loop lets only the keys that act there through
 * (ui_key_acts_hidden()).
 */
#ifndef GWSMTP_TUI_VIEW_H
#define GWSMTP_TUI_VIEW_H

#include <stdbool.h>

#include <curses.h>

#include "core/ui_menu.h"
#include "core/ui_smtp.h"

#define VIEW_MIN_COLS	60
#define VIEW_MIN_ROWS	20

/*
 * Once per terminal, after initscr()/newterm(): colours if the terminal
 * has them (else attributes only), and whether to draw UTF-8 marks
 * ("(•)") or ASCII ones ("(*)").
 */
void	 view_setup(bool utf8);
bool	 view_fits(WINDOW *w);
/*
 * The screen of a terminal too small for the views: says so and that F10
 * quits; with an open question (NULL: none), shows that instead, in the
 * room there is: all its answers, then its text as far as it fits.
 */
void	 view_too_small(WINDOW *w, const struct ui_prompt *question);

void	 view_menu_draw(WINDOW *w, const struct ui_menu *m);
/*
 * The SMTP screen, with its open dialog (Advanced..., a question, the
 * Test report) on top.  Leaves the curses cursor on the edited text field
 * (curs_set(1)) or hides it.  m->report.height is the one thing it sets:
 * how many lines the report panel shows (for paging).
 */
void	 view_smtp_draw(WINDOW *w, struct ui_smtp *m);

#endif
