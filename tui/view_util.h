/*
 * tui/view_util.h: drawing helpers shared by the views (not for the loop):
 * colours, clipped and escaped text, the frame (breadcrumb, message,
 * status line), form fields and question boxes.
 */
#ifndef GWSMTP_TUI_VIEW_UTIL_H
#define GWSMTP_TUI_VIEW_UTIL_H

#include <stdbool.h>

#include <curses.h>

#include "core/ui_form.h"
#include "core/ui_prompt.h"

enum view_style {
	VS_NORMAL,
	VS_HEADER,	/* breadcrumb and status bars */
	VS_FOCUS,	/* the focused field or item */
	VS_ERROR,
	VS_DISABLED,
	VS_TITLE,
	VS_BOX
};

attr_t	 vu_attr(enum view_style s);
/* Puts s (escaped) at y,x clipped to at most cols columns. */
void	 vu_put(WINDOW *w, int y, int x, const char *s, int cols, attr_t a);
/* Fills a row from x with blanks in attribute a. */
void	 vu_fill(WINDOW *w, int y, int x, int cols, attr_t a);
/* Breadcrumb (top), message (row H-2; error style if error), keys (H-1). */
void	 vu_frame(WINDOW *w, const char *crumb, const char *msg, bool error,
	     const char *keys);
/* The radio mark, checked or not: "(•)"/"(*)" and "( )". */
const char *vu_radio(bool on);

/*
 * Draws field f at y,x: the column x-1 holds '>' when focused, '-' when
 * disabled.  labelw: columns for "Label: " (text and radio), valuew: for
 * the value.  Sets *cy, *cx to the text cursor when focused on a text
 * field (else leaves them).
 */
void	 vu_field(WINDOW *w, int y, int x, const struct ui_field *f,
	     bool focused, int labelw, int valuew, int *cy, int *cx);
/* A centred box with the question (wrapped) and its answers. */
void	 vu_prompt(WINDOW *w, const struct ui_prompt *p, const char *title);
/* A box with a title, cleared inside. */
void	 vu_box(WINDOW *w, int y, int x, int h, int wd, const char *title);

#endif
