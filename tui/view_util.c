/*
 * tui/view_util.c: see view_util.h.
 */
#include "tui/view_util.h"

#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "tui/view.h"

static bool use_utf8 = true;
static bool use_colour = false;

void
view_setup(bool utf8)
{
	use_utf8 = utf8;
	use_colour = false;
	if (has_colors() && start_color() == OK) {
		use_default_colors();
		init_pair(1, COLOR_WHITE, COLOR_BLUE);	/* header */
		init_pair(2, COLOR_BLACK, COLOR_CYAN);	/* focus */
		init_pair(3, COLOR_RED, -1);		/* error */
		init_pair(4, COLOR_YELLOW, COLOR_BLUE);	/* title */
		use_colour = true;
	}
}

attr_t
vu_attr(enum view_style s)
{
	switch (s) {
	case VS_HEADER:
		return use_colour ? COLOR_PAIR(1) : A_REVERSE;
	case VS_FOCUS:
		return use_colour ? COLOR_PAIR(2) | A_BOLD : A_REVERSE;
	case VS_ERROR:
		return use_colour ? COLOR_PAIR(3) | A_BOLD : A_BOLD;
	case VS_DISABLED:
		return A_DIM;
	case VS_TITLE:
		return use_colour ? COLOR_PAIR(4) | A_BOLD : A_BOLD | A_REVERSE;
	case VS_BOX:
	case VS_NORMAL:
		break;
	}
	return A_NORMAL;
}

const char *
vu_radio(bool on)
{
	if (!on)
		return "( )";
	return use_utf8 ? "(\xe2\x80\xa2)" : "(*)";
}

bool
view_fits(WINDOW *w)
{
	return getmaxy(w) >= VIEW_MIN_ROWS && getmaxx(w) >= VIEW_MIN_COLS;
}

void
view_too_small(WINDOW *w)
{
	char buf[80];

	werase(w);
	snprintf(buf, sizeof buf, "terminal too small (need %dx%d)",
	    VIEW_MIN_COLS, VIEW_MIN_ROWS);
	mvwaddnstr(w, 0, 0, buf, getmaxx(w));
	if (getmaxy(w) > 1)
		mvwaddnstr(w, 1, 0, "F10 quits", getmaxx(w));
}

/* Columns of a UTF-8 prefix: bytes of at most cols code points. */
static size_t
clip_bytes(const char *s, int cols)
{
	size_t i = 0;
	int n = 0;

	while (s[i] != '\0' && n < cols) {
		i++;
		while (((unsigned char)s[i] & 0xc0) == 0x80)
			i++;
		n++;
	}
	return i;
}

void
vu_put(WINDOW *w, int y, int x, const char *s, int cols, attr_t a)
{
	char *e;

	if (cols <= 0 || s == NULL)
		return;
	e = text_escape(s);
	wattron(w, a);
	mvwaddnstr(w, y, x, e, (int)clip_bytes(e, cols));
	wattroff(w, a);
	free(e);
}

void
vu_fill(WINDOW *w, int y, int x, int cols, attr_t a)
{
	wattron(w, a);
	for (int i = 0; i < cols; i++)
		mvwaddch(w, y, x + i, ' ');
	wattroff(w, a);
}

void
vu_frame(WINDOW *w, const char *crumb, const char *msg, bool error,
    const char *keys)
{
	int h = getmaxy(w), wd = getmaxx(w);

	vu_fill(w, 0, 0, wd, vu_attr(VS_HEADER));
	vu_put(w, 0, 1, crumb, wd - 2, vu_attr(VS_HEADER) | A_BOLD);
	if (msg != NULL)
		vu_put(w, h - 2, 1, msg, wd - 2, error ? vu_attr(VS_ERROR) :
		    A_BOLD);
	vu_fill(w, h - 1, 0, wd, vu_attr(VS_HEADER));
	vu_put(w, h - 1, 1, keys, wd - 2, vu_attr(VS_HEADER));
}

void
vu_box(WINDOW *w, int y, int x, int h, int wd, const char *title)
{
	for (int r = y; r < y + h; r++)
		vu_fill(w, r, x, wd, A_NORMAL);
	mvwhline(w, y, x + 1, ACS_HLINE, wd - 2);
	mvwhline(w, y + h - 1, x + 1, ACS_HLINE, wd - 2);
	mvwvline(w, y + 1, x, ACS_VLINE, h - 2);
	mvwvline(w, y + 1, x + wd - 1, ACS_VLINE, h - 2);
	mvwaddch(w, y, x, ACS_ULCORNER);
	mvwaddch(w, y, x + wd - 1, ACS_URCORNER);
	mvwaddch(w, y + h - 1, x, ACS_LLCORNER);
	mvwaddch(w, y + h - 1, x + wd - 1, ACS_LRCORNER);
	if (title != NULL) {
		mvwaddch(w, y, x + 2, ' ');
		vu_put(w, y, x + 3, title, wd - 8, vu_attr(VS_TITLE));
		waddch(w, ' ');
	}
}

void
vu_field(WINDOW *w, int y, int x, const struct ui_field *f, bool focused,
    int labelw, int valuew, int *cy, int *cx)
{
	attr_t la = f->enabled ? A_NORMAL : vu_attr(VS_DISABLED);
	attr_t fa = focused ? vu_attr(VS_FOCUS) : la;
	char buf[256];
	int c;

	if (f->error != NULL)
		la = vu_attr(VS_ERROR);
	mvwaddch(w, y, x - 1, focused ? '>' : f->enabled ? ' ' : '-');
	switch (f->type) {
	case UI_FIELD_CHECK:
		vu_put(w, y, x, f->checked ? "[x]" : "[ ]", 3, fa);
		vu_put(w, y, x + 4, f->label, labelw + valuew, la);
		return;
	case UI_FIELD_BUTTON:
		snprintf(buf, sizeof buf, "[ %s ]", f->label);
		vu_put(w, y, x, buf, (int)strlen(buf), focused ? fa :
		    f->enabled ? A_BOLD : la);
		return;
	case UI_FIELD_LIST:
		return;
	case UI_FIELD_RADIO:
		snprintf(buf, sizeof buf, "%s:", f->label);
		vu_put(w, y, x, buf, labelw, la);
		c = x + labelw;
		for (size_t i = 0; i < f->noptions; i++) {
			attr_t oa = focused && i == f->hover ? fa : la;

			vu_put(w, y, c, vu_radio(i == f->choice), 3, oa);
			vu_put(w, y, c + 4, f->options[i], 20, oa);
			c += 4 + (int)strlen(f->options[i]) + 1;
		}
		return;
	default:
		break;
	}
	/* text, number, secret */
	snprintf(buf, sizeof buf, "%s:", f->label);
	vu_put(w, y, x, buf, labelw, la);
	c = x + labelw;
	mvwaddch(w, y, c, '[');
	vu_fill(w, y, c + 1, valuew, focused ? fa : A_UNDERLINE | la);
	mvwaddch(w, y, c + 1 + valuew, ']');
	if (f->type == UI_FIELD_SECRET) {
		/* Never the secret, nor its length. */
		if (f->text[0] != '\0')
			vu_put(w, y, c + 1, "********", valuew, focused ? fa :
			    A_UNDERLINE | la);
		if (focused && cy != NULL) {
			*cy = y;
			*cx = c + 1 + (f->text[0] != '\0' ? 8 : 0);
		}
		return;
	} else {
		char *e = text_escape(f->text);
		char *pre = strndup(f->text, f->cursor);
		char *epre = text_escape(pre);
		int ccol = (int)text_utf8_length(epre), skip = 0;
		const char *p = e;

		if (ccol >= valuew)
			skip = ccol - valuew + 1;
		for (int i = 0; i < skip && *p; i++)
			p += clip_bytes(p, 1);
		vu_put(w, y, c + 1, p, valuew, focused ? fa :
		    A_UNDERLINE | la);
		if (focused && cy != NULL) {
			*cy = y;
			*cx = c + 1 + ccol - skip;
		}
		free(e);
		free(pre);
		free(epre);
	}
}

void
vu_prompt(WINDOW *w, const struct ui_prompt *p, const char *title)
{
	int H = getmaxy(w), W = getmaxx(w);
	int bw = W - 8 < 70 ? W - 8 : 70, tw = bw - 4;
	char *lines[16];
	int nl = 0, bh, by, bx, x;
	const char *s = p->text;

	/* Wrap at spaces and newlines into at most 16 lines. */
	while (*s != '\0' && nl < 16) {
		size_t len = strcspn(s, "\n"), cut = len;

		if ((int)len > tw) {
			cut = (size_t)tw;
			while (cut > 0 && s[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = (size_t)tw;
		}
		lines[nl++] = strndup(s, cut);
		s += cut;
		if (*s == ' ' || *s == '\n')
			s++;
	}
	bh = nl + 4;
	if (bh > H - 2)
		bh = H - 2;
	by = (H - bh) / 2;
	bx = (W - bw) / 2;
	vu_box(w, by, bx, bh, bw, title);
	for (int i = 0; i < nl; i++) {
		if (i < bh - 4)
			vu_put(w, by + 1 + i, bx + 2, lines[i], tw, A_NORMAL);
		free(lines[i]);
	}
	x = bx + 2;
	for (size_t i = 0; i < p->n; i++) {
		char buf[64];

		snprintf(buf, sizeof buf, "[ %s ]", p->answers[i]);
		vu_put(w, by + bh - 2, x, buf, bw - (x - bx) - 1,
		    i == p->sel ? vu_attr(VS_FOCUS) : A_BOLD);
		x += (int)strlen(buf) + 2;
	}
}
