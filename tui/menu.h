/*
 * tui/menu.h: gwadmin's interactive menu (SPEC section 6).
 */
#ifndef GWSMTP_TUI_MENU_H
#define GWSMTP_TUI_MENU_H

struct store;

/*
 * Runs the menu on the terminal until the administrator quits.  Returns 0,
 * or -1 with *cause if the terminal could not be used.  While it runs,
 * Ctrl-S and Ctrl-C are its keys, not flow control and SIGINT; the
 * terminal's modes are put back however it ends.
 */
int	 menu_run(struct store *s, char **cause);

#endif
