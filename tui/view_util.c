/*
 * tui/view_util.c: see view_util.h.
 */
#include "tui/view_util.h"

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "core/text.h"
#include "core/xmalloc.h"
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


/*
 * Display columns of the character at s (*len receives its bytes).  A
 * byte that is not valid UTF-8, or a character wcwidth() does not know,
 * counts as one column: text is escaped before this, so what is left is
 * printable and over-counting only clips early, never overflows.
 */
static int
char_width(const char *s, size_t *len)
{
	mbstate_t st;
	wchar_t wc;
	size_t n;
	int cw;

	memset(&st, 0, sizeof st);
	n = mbrtowc(&wc, s, MB_CUR_MAX, &st);
	if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
		*len = 1;
		return 1;
	}
	*len = n;
	cw = wcwidth(wc);
	return cw < 0 ? 1 : cw;
}

/* Display columns of s. */
static int
text_width(const char *s)
{
	int n = 0;
	size_t len;

	while (*s != '\0') {
		n += char_width(s, &len);
		s += len;
	}
	return n;
}

/* Bytes of the longest prefix of s that is at most cols columns wide. */
static size_t
clip_bytes(const char *s, int cols)
{
	size_t i = 0, len;
	int n = 0, cw;

	while (s[i] != '\0') {
		cw = char_width(s + i, &len);
		if (n + cw > cols)
			break;
		n += cw;
		i += len;
	}
	return i;
}

/* Puts s as it is (already escaped) at y,x, at most cols columns. */
static void
put_raw(WINDOW *w, int y, int x, const char *s, int cols, attr_t a)
{
	size_t n;

	if (cols <= 0 || s == NULL)
		return;
	n = clip_bytes(s, cols);
	wattron(w, a);
	wmove(w, y, x);
	if (n > 0)
		waddnstr(w, s, (int)n);
	wattroff(w, a);
}

void
vu_put(WINDOW *w, int y, int x, const char *s, int cols, attr_t a)
{
	char *e;

	if (cols <= 0 || s == NULL)
		return;
	e = text_escape(s);
	put_raw(w, y, x, e, cols, a);
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

/*
 * The breadcrumb in cols columns.  Too long, it loses names from its
 * middle, then its start, never its end: "Main menu > … > MAIL > SMTP",
 * else "… > SMTP", says where one is.  Cut at a " > " where one fits,
 * else mid-name.  Caller frees.
 */
static char *
fit_crumb(const char *crumb, int cols)
{
	const char *ell = use_utf8 ? "\xe2\x80\xa6" : "...";
	int ew = use_utf8 ? 1 : 3, hw;
	char *e = text_escape(crumb), *r;
	const char *p, *head_end;
	size_t len;

	if (text_width(e) <= cols || cols <= ew)
		return e;
	head_end = strstr(e, " > ");
	if (head_end != NULL) {
		char *head = strndup(e, (size_t)(head_end - e));

		hw = text_width(head);
		for (p = strstr(head_end + 3, " > "); p != NULL;
		    p = strstr(p + 3, " > "))
			if (hw + 3 + ew + text_width(p) <= cols) {
				r = xasprintf("%s > %s%s", head, ell, p);
				free(head);
				free(e);
				return r;
			}
		free(head);
	}
	for (p = head_end; p != NULL; p = strstr(p + 1, " > "))
		if (text_width(p) + ew <= cols)
			break;
	if (p == NULL) {
		/* Even the last name is too long: its end, then. */
		p = e;
		while (*p != '\0' && text_width(p) + ew > cols) {
			char_width(p, &len);
			p += len;
		}
	}
	r = xasprintf("%s%s", ell, p);
	free(e);
	return r;
}

/*
 * The key hints (separated by two blanks) in cols columns: whole hints
 * only, the first ones (what the keys do on this field) and the last one
 * (how to quit) kept, those in between dropped.  Caller frees.
 */
static char *
fit_keys(const char *keys, int cols)
{
	const char *last = keys, *p;
	char *r;
	size_t n;

	if (text_width(keys) <= cols)
		return xstrdup(keys);
	for (p = strstr(keys, "  "); p != NULL; p = strstr(p + 2, "  "))
		last = p + 2;
	r = xstrdup("");
	for (p = keys; p < last; ) {
		char *cand;

		n = strcspn(p, " ");
		while (p[n] == ' ' && p[n + 1] != ' ' && p[n] != '\0')
			n += 1 + strcspn(p + n + 1, " ");
		cand = xasprintf("%s%.*s  %s", r, (int)n, p, last);
		if (p + n >= last || text_width(cand) > cols) {
			free(cand);
			break;
		}
		free(cand);
		cand = xasprintf("%s%.*s  ", r, (int)n, p);
		free(r);
		r = cand;
		p += n;
		while (*p == ' ')
			p++;
	}
	p = xasprintf("%s%s", r, last);
	free(r);
	return (char *)p;
}

void
vu_frame(WINDOW *w, const char *crumb, const char *msg, bool error,
    const char *keys)
{
	int h = getmaxy(w), wd = getmaxx(w);
	char *c = fit_crumb(crumb, wd - 2), *k = fit_keys(keys, wd - 2);

	vu_fill(w, 0, 0, wd, vu_attr(VS_HEADER));
	put_raw(w, 0, 1, c, wd - 2, vu_attr(VS_HEADER) | A_BOLD);
	if (msg != NULL)
		vu_put(w, h - 2, 1, msg, wd - 2, error ? vu_attr(VS_ERROR) :
		    A_BOLD);
	vu_fill(w, h - 1, 0, wd, vu_attr(VS_HEADER));
	vu_put(w, h - 1, 1, k, wd - 2, vu_attr(VS_HEADER));
	free(c);
	free(k);
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
		/*
		 * The escaped text, shown from its start; focused, scrolled
		 * so that the cursor (in display columns) is in the box.
		 */
		char *e = text_escape(f->text);
		char *pre = strndup(f->text, f->cursor);
		char *epre = text_escape(pre);
		int ccol = text_width(epre), skip = 0;
		const char *p = e;
		size_t len;

		while (focused && ccol - skip >= valuew && *p != '\0') {
			skip += char_width(p, &len);
			p += len;
		}
		put_raw(w, y, c + 1, p, valuew, focused ? fa :
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

#define WRAP_MAX	16

/*
 * Splits s at spaces and newlines into at most WRAP_MAX lines of at most
 * cols bytes each (a word longer than that is cut).  Returns how many;
 * each line is the caller's to free.
 */
static int
wrap(const char *s, int cols, char **lines)
{
	int nl = 0;

	if (cols < 1)
		cols = 1;
	while (*s != '\0' && nl < WRAP_MAX) {
		size_t len = strcspn(s, "\n"), cut = len;

		if ((int)len > cols) {
			cut = (size_t)cols;
			while (cut > 0 && s[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = (size_t)cols;
		}
		lines[nl++] = strndup(s, cut);
		s += cut;
		if (*s == ' ' || *s == '\n')
			s++;
	}
	return nl;
}

/*
 * The answers as "[ Save ]" buttons from y,x, two blanks apart, a button
 * that would pass cols columns going to the next row.  Draws them only if
 * draw; returns the rows they take either way.
 */
static int
put_answers(WINDOW *w, const struct ui_prompt *p, int y, int x, int cols,
    bool draw)
{
	int rows = 1, c = 0, bw;

	for (size_t i = 0; i < p->n; i++) {
		char buf[64];

		snprintf(buf, sizeof buf, "[ %s ]", p->answers[i]);
		bw = (int)strlen(buf);
		if (c > 0 && c + bw > cols) {
			rows++;
			c = 0;
		}
		if (draw)
			vu_put(w, y + rows - 1, x + c, buf, cols - c,
			    i == p->sel ? vu_attr(VS_FOCUS) : A_BOLD);
		c += bw + 2;
	}
	return rows;
}

void
vu_prompt(WINDOW *w, const struct ui_prompt *p, const char *title)
{
	int H = getmaxy(w), W = getmaxx(w);
	int bw = W - 8 < 70 ? W - 8 : 70, tw = bw - 4;
	char *lines[WRAP_MAX];
	int nl = wrap(p->text, tw, lines), bh, by, bx;

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
	put_answers(w, p, by + bh - 2, bx + 2, bw - 3, true);
}

void
view_too_small(WINDOW *w, const struct ui_prompt *question)
{
	int H = getmaxy(w), W = getmaxx(w), y = 0, nl, room;
	char notice[80], *lines[WRAP_MAX];

	werase(w);
	snprintf(notice, sizeof notice, "terminal too small (need %dx%d)",
	    VIEW_MIN_COLS, VIEW_MIN_ROWS);
	if (question == NULL) {
		vu_put(w, 0, 0, notice, W, A_NORMAL);
		if (H > 1)
			vu_put(w, 1, 0, "F10 quits", W, A_NORMAL);
		return;
	}
	/*
	 * The open question, so that it can be answered here: its answers
	 * always, then as much of its text as fits, then the notice.
	 */
	nl = wrap(question->text, W, lines);
	room = H - put_answers(w, question, 0, 0, W, false);
	if (room > nl) {
		vu_put(w, y++, 0, notice, W, A_NORMAL);
		room--;
	}
	for (int i = 0; i < nl; i++) {
		if (i < room)
			vu_put(w, y++, 0, lines[i], W, A_BOLD);
		free(lines[i]);
	}
	put_answers(w, question, y, 0, W, true);
}
