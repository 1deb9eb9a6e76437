/*
 * tui/view_smtp.c: draws the SMTP screen (core/ui_smtp.h) with what is
 * open on top of it: the Advanced... dialog, a question, the Test report.
 * Positions are this file's; the models know nothing of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/view.h"
#include "tui/view_util.h"

#define CRUMB	"Main menu > Connectivity > Internet protocols > MAIL > SMTP"

static const char *
field_error(const struct ui_form *f)
{
	const struct ui_field *fl = &f->fields[f->focus];

	if (fl->error != NULL)
		return fl->error;
	for (size_t i = 0; i < f->n; i++)
		if (f->fields[i].error != NULL)
			return f->fields[i].error;
	return NULL;
}

static void
put_field(WINDOW *w, const struct ui_form *f, int id, int y, int x,
    int labelw, int valuew, int *cy, int *cx)
{
	size_t i = ui_form_find(f, id);

	if (i == (size_t)-1)
		return;
	vu_field(w, y, x, &f->fields[i], i == f->focus, labelw, valuew, cy, cx);
}

static void
draw_list(WINDOW *w, const struct ui_smtp *m, int y, int x, int h, int wd)
{
	const struct ui_form *f = &m->form;
	bool focused = ui_form_focus_id(f) == UI_SMTP_LIST;
	size_t top = m->sel >= (size_t)h ? m->sel - (size_t)h + 1 : 0;
	char buf[64];

	snprintf(buf, sizeof buf, "Profiles (%zu)", m->total);
	mvwaddch(w, y, x - 1, focused ? '>' : ' ');
	vu_put(w, y, x, buf, wd, A_BOLD);
	if (m->total == 0)
		vu_put(w, y + 1, x, "(none: Ins adds)", wd, A_DIM);
	for (int r = 0; r < h && top + (size_t)r < m->total; r++) {
		size_t idx = top + (size_t)r;
		const char *name = ui_smtp_name_at(m, idx);
		bool cur = m->orig != NULL && name != NULL &&
		    strcmp(name, m->orig->name) == 0;
		attr_t a = idx == m->sel ? (focused ? vu_attr(VS_FOCUS) :
		    A_REVERSE) : A_NORMAL;

		vu_fill(w, y + 1 + r, x, wd, a);
		mvwaddch(w, y + 1 + r, x, cur ? '*' : ' ');
		vu_put(w, y + 1 + r, x + 1, name ? name : "...", wd - 1, a);
	}
}

static void
draw_main(WINDOW *w, const struct ui_smtp *m, int *cy, int *cx)
{
	const struct ui_form *f = &m->form;
	int H = getmaxy(w), W = getmaxx(w);
	int lw = W / 3 < 26 ? W / 3 : 26, px = lw + 4;
	int vw = W - px - 11 - 3, by = H - 3, bx = 2;
	static const int pids[] = { PROFILE_KEY_NAME, PROFILE_KEY_ACTIVE,
	    PROFILE_KEY_HOST, PROFILE_KEY_PORT, PROFILE_KEY_ALT_HOSTS,
	    PROFILE_KEY_FROM, PROFILE_KEY_TO, PROFILE_KEY_HELO,
	    PROFILE_KEY_COMMENT };
	static const int bids[] = { UI_SMTP_ADVANCED, UI_SMTP_TEST,
	    UI_SMTP_SAVE, UI_SMTP_CANCEL };

	vu_put(w, 1, 1, "SMTP settings", W - 2, vu_attr(VS_TITLE));
	put_field(w, f, UI_SMTP_SETTINGS + SETTINGS_KEY_ENABLED, 2, 2, 0,
	    14, cy, cx);
	put_field(w, f, UI_SMTP_SETTINGS + SETTINGS_KEY_DEFAULT_PROFILE, 2,
	    20, 17, W - 20 - 17 - 3 > 31 ? 31 : W - 20 - 17 - 3, cy, cx);
	put_field(w, f, UI_SMTP_SETTINGS + SETTINGS_KEY_SUBJECT_PARAMS, 3, 2,
	    0, 26, cy, cx);
	put_field(w, f, UI_SMTP_SETTINGS + SETTINGS_KEY_SUBJECT_DELIMITER, 3,
	    34, 11, W - 34 - 11 - 3 > 16 ? 16 : W - 34 - 11 - 3, cy, cx);
	mvwhline(w, 4, 0, ACS_HLINE, W);
	draw_list(w, m, 5, 2, by - 7, lw);
	mvwvline(w, 5, lw + 2, ACS_VLINE, by - 6);
	if (m->work == NULL)
		vu_put(w, 5, px, "No profile selected", W - px - 1, A_DIM);
	else {
		char *t = m->orig == NULL ? strdup("New profile") :
		    strdup("Profile");

		if (ui_smtp_dirty(m)) {
			char *t2 = malloc(strlen(t) + 16);

			sprintf(t2, "%s (modified)", t);
			free(t);
			t = t2;
		}
		vu_put(w, 5, px, t, W - px - 1, A_BOLD);
		free(t);
	}
	for (size_t i = 0; i < sizeof pids / sizeof pids[0]; i++)
		put_field(w, f, pids[i], 6 + (int)i, px, 11, vw, cy, cx);
	mvwhline(w, by - 1, 0, ACS_HLINE, W);
	for (size_t i = 0; i < sizeof bids / sizeof bids[0]; i++) {
		size_t fi = ui_form_find(f, bids[i]);

		put_field(w, f, bids[i], by, bx, 0, 0, cy, cx);
		bx += (int)strlen(f->fields[fi].label) + 6;
	}
}

static void
draw_advanced(WINDOW *w, const struct ui_advanced *a, int *cy, int *cx)
{
	const struct ui_form *f = &a->form;
	int H = getmaxy(w), W = getmaxx(w), y = 1, bh = H - 3;
	int vw = W - 3 - 14 - 4;
	bool narrow = W < 64;
	char buf[64];

	vu_box(w, y, 0, bh, W, "Advanced: TLS, authentication, retries");
	if (vw > 40)
		vw = 40;
	y += 1;
	put_field(w, f, UI_ADV_USE_TLS, y, 2, 0, 20, cy, cx);
	snprintf(buf, sizeof buf, "Port: %d", a->p->port);
	vu_put(w, y, W - 14, buf, 12, A_BOLD);
	put_field(w, f, UI_ADV_MODE, ++y, 4, 10, 0, cy, cx);
	put_field(w, f, PROFILE_KEY_STARTTLS, ++y, 4, 10, 0, cy, cx);
	if (!narrow)
		put_field(w, f, PROFILE_KEY_VERIFY, ++y, 4, 0, 30, cy, cx);
	put_field(w, f, PROFILE_KEY_CA_FILE, ++y, 4, 13, vw, cy, cx);
	put_field(w, f, PROFILE_KEY_FINGERPRINT, ++y, 4, 13, vw, cy, cx);
	put_field(w, f, PROFILE_KEY_TLS_MIN, ++y, 4, 13, 0, cy, cx);
	if (narrow) {
		/*
		 * "Authentication: " and its four choices need 59 columns
		 * of the box's 57: the label goes on a row of its own, made
		 * by moving Verify next to Minimum TLS (rejected: dropping
		 * the label, or abbreviating the choices' names).
		 */
		size_t ai = ui_form_find(f, PROFILE_KEY_AUTH);

		put_field(w, f, PROFILE_KEY_VERIFY, y, 35, 0, 22, cy, cx);
		vu_put(w, ++y, 2, "Authentication:", 16,
		    f->fields[ai].error != NULL ? vu_attr(VS_ERROR) :
		    A_NORMAL);
		put_field(w, f, PROFILE_KEY_AUTH, ++y, 4, 0, 0, cy, cx);
	} else
		put_field(w, f, PROFILE_KEY_AUTH, ++y, 2, 16, 0, cy, cx);
	put_field(w, f, PROFILE_KEY_USERNAME, ++y, 4, 10, W / 2 - 18, cy, cx);
	put_field(w, f, PROFILE_KEY_PASSWORD, y, W / 2 + 2, 10, 10, cy, cx);
	put_field(w, f, PROFILE_KEY_TRACE, ++y, 4, 10, W / 2 - 18, cy, cx);
	put_field(w, f, PROFILE_KEY_ALLOW_PLAIN_AUTH_WITHOUT_TLS, ++y, 4, 0,
	    34, cy, cx);
	put_field(w, f, PROFILE_KEY_TIMEOUT, ++y, 2, 17, 5, cy, cx);
	put_field(w, f, PROFILE_KEY_RETRIES, y, 30, 19, 4, cy, cx);
	put_field(w, f, PROFILE_KEY_RETRY_DELAY, ++y, 2, 17, 5, cy, cx);
	put_field(w, f, PROFILE_KEY_RETRY_MAX, y, 30, 19, 6, cy, cx);
	put_field(w, f, PROFILE_KEY_MAX_CONNECTIONS, ++y, 2, 17, 4, cy, cx);
	put_field(w, f, UI_ADV_OK, bh - 1, 2, 0, 0, cy, cx);
	put_field(w, f, UI_ADV_CANCEL, bh - 1, 10, 0, 0, cy, cx);
	vu_put(w, bh - 1, 22, "- = does not apply", W - 24, A_DIM);
}

static void
draw_report(WINDOW *w, struct ui_report *r)
{
	int H = getmaxy(w), W = getmaxx(w), bh = H - 3;

	vu_box(w, 1, 0, bh, W, r->title);
	r->height = (size_t)(bh - 3);
	for (size_t i = 0; i < r->height && r->top + i < r->nlines; i++)
		vu_put(w, 2 + (int)i, 2, r->lines[r->top + i], W - 4, A_NORMAL);
	if (r->running)
		vu_put(w, bh - 1, 2, "Testing... (Esc cancels)", W - 4,
		    A_BOLD | A_BLINK);
	else
		vu_put(w, bh - 1, 2, "Done.  Esc closes.", W - 4, A_BOLD);
}

void
view_smtp_draw(WINDOW *w, struct ui_smtp *m)
{
	int cy = -1, cx = -1;
	const char *msg;
	bool err;

	werase(w);
	if (!view_fits(w)) {
		view_too_small(w, m->prompt.active ? &m->prompt : NULL);
		curs_set(0);
		return;
	}
	draw_main(w, m, m->adv.active ? NULL : &cy, &cx);
	if (m->adv.active) {
		cy = -1;
		draw_advanced(w, &m->adv, &cy, &cx);
	}
	if (m->report.active) {
		cy = -1;
		draw_report(w, &m->report);
	}
	if (m->prompt.active) {
		cy = -1;
		vu_prompt(w, &m->prompt, m->prompt.kind == UI_SMTP_PROMPT_HELP ?
		    "Help" : NULL);
	}
	msg = m->adv.active ? (m->adv.message ? m->adv.message :
	    field_error(&m->adv.form)) : m->message ? m->message :
	    field_error(&m->form);
	err = m->adv.active || m->message == NULL || m->message_error;
	vu_frame(w, m->adv.active ? CRUMB " > Advanced" : CRUMB, msg, err,
	    ui_smtp_keys_help(m));
	if (cy >= 0) {
		curs_set(1);
		wmove(w, cy, cx);
	} else
		curs_set(0);
}
