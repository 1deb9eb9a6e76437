/*
 * tests/test_views.c: the menu's views (tui/view.h) drawn into curses
 * windows of a terminal on /dev/null (newterm()), read back cell by cell
 * with mvwinnstr(): labels, the breadcrumb, the masked password, escaped
 * control characters, disabled fields, the 80x24 and 60x20 layouts.
 *
 * The models are built through their own API (core/ui_*.h) and, where a
 * test needs text no validation would let in (an ESC byte), written into
 * the model's fields directly: a view must not trust its model's text.
 */
#include <criterion/criterion.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curses.h>

#include "core/profile.h"
#include "core/text.h"
#include "core/ui_advanced.h"
#include "core/ui_form.h"
#include "core/ui_key.h"
#include "core/ui_menu.h"
#include "core/ui_smtp.h"
#include "core/xmalloc.h"
#include "tui/view.h"

#define CRUMB_SMTP	"Main menu > Connectivity > Internet protocols > MAIL > SMTP"

static SCREEN *scr;
static FILE *out, *in;

static void
setup(void)
{
	cr_assert_not_null(setlocale(LC_ALL, "C.UTF-8"), "no C.UTF-8 locale");
	/* The size of a terminal on /dev/null comes from the environment. */
	setenv("TERM", "xterm-256color", 1);
	setenv("LINES", "40", 1);
	setenv("COLUMNS", "120", 1);
	out = fopen("/dev/null", "w");
	in = fopen("/dev/null", "r");
	cr_assert(out != NULL && in != NULL);
	scr = newterm(NULL, out, in);
	cr_assert_not_null(scr, "newterm(xterm-256color) failed");
	set_term(scr);
	view_setup(true);
}

static void
teardown(void)
{
	endwin();
	delscreen(scr);
	fclose(out);
	fclose(in);
}

TestSuite(views, .init = setup, .fini = teardown);

/* Row y of w as UTF-8, trailing blanks kept.  Caller frees. */
static char *
row(WINDOW *w, int y)
{
	int n = getmaxx(w) * 4 + 1;
	char *buf = xcalloc(1, (size_t)n + 1);

	if (mvwinnstr(w, y, 0, buf, n) == ERR)
		buf[0] = '\0';
	return buf;
}

/* The whole window, rows joined by '\n'.  Caller frees. */
static char *
screen(WINDOW *w)
{
	size_t len = 0, cap = 1;
	char *s = xmalloc(1);

	s[0] = '\0';
	for (int y = 0; y < getmaxy(w); y++) {
		char *r = row(w, y);
		size_t n = strlen(r);

		s = xreallocarray(s, cap += n + 1, 1);
		memcpy(s + len, r, n);
		len += n;
		s[len++] = '\n';
		s[len] = '\0';
		free(r);
	}
	return s;
}

/* The first row holding text (its index in *y), or NULL. Caller frees. */
static char *
row_with(WINDOW *w, const char *text, int *y)
{
	for (int i = 0; i < getmaxy(w); i++) {
		char *r = row(w, i);

		if (strstr(r, text) != NULL) {
			if (y != NULL)
				*y = i;
			return r;
		}
		free(r);
	}
	return NULL;
}

static void
assert_shows(WINDOW *w, const char *text)
{
	char *s = screen(w);

	cr_assert(strstr(s, text) != NULL, "'%s' is not on the %dx%d "
	    "screen:\n%s", text, getmaxx(w), getmaxy(w), s);
	free(s);
}

static void
assert_hides(WINDOW *w, const char *text)
{
	char *s = screen(w);

	cr_assert(strstr(s, text) == NULL, "'%s' is on the screen:\n%s",
	    text, s);
	free(s);
}

/* No cell holds a C0 control, DEL or a C1 control. */
static void
assert_no_controls(WINDOW *w)
{
	for (int y = 0; y < getmaxy(w); y++)
		for (int x = 0; x < getmaxx(w); x++) {
			chtype c = mvwinch(w, y, x);
			unsigned ch = (unsigned)(c & A_CHARTEXT);

			if (c & A_ALTCHARSET)
				continue;	/* line drawing */
			cr_assert(ch >= 0x20 && ch != 0x7f && !(ch >= 0x80 &&
			    ch < 0xa0), "raw control 0x%02x at %d,%d", ch, y,
			    x);
		}
}

static WINDOW *
win(int cols, int rows)
{
	WINDOW *w = newwin(rows, cols, 0, 0);

	cr_assert_not_null(w, "newwin(%d, %d)", rows, cols);
	return w;
}

/* A stored-looking profile: name, host, and keys=values. */
static struct profile *
profile(const char *name, const char *const *kv)
{
	struct profile *p = profile_new(name);
	char *cause = NULL;

	cr_assert_eq(profile_set(p, PROFILE_KEY_HOST, "mail.example.org",
	    &cause), 0, "%s", cause);
	for (size_t i = 0; kv != NULL && kv[i] != NULL; i++) {
		char *k = xstrdup(kv[i]), *v = strchr(k, '=');
		enum profile_key key;

		*v++ = '\0';
		cr_assert_eq(profile_key_lookup(k, &key), 0, "%s", k);
		cr_assert_eq(profile_set(p, key, v, &cause), 0, "%s: %s", k,
		    cause);
		free(k);
	}
	p->revision = 7;
	return p;
}

/*
 * The SMTP screen model with profile p (borrowed) stored and loaded, as
 * the loop would leave it after opening the screen.
 */
static struct ui_smtp *
smtp_with(const struct profile *p)
{
	struct ui_smtp *m = xcalloc(1, sizeof *m);
	struct smtp_settings set;
	struct ui_request r;
	const char *names[1];

	settings_init(&set);
	ui_smtp_open(m, &set);
	settings_clear(&set);
	names[0] = p ? p->name : NULL;
	while (ui_smtp_request(m, &r)) {
		if (r.type == UI_REQ_LOAD_NAMES)
			ui_smtp_names_loaded(m, r.offset, names, p ? 1 : 0,
			    p ? 1 : 0);
		else if (r.type == UI_REQ_LOAD_PROFILE)
			ui_smtp_profile_loaded(m, UI_RESULT_OK, profile_dup(p),
			    NULL);
	}
	return m;
}

static void
smtp_free(struct ui_smtp *m)
{
	ui_smtp_close(m);
	free(m);
}

/* The Advanced dialog open on m's profile, focus on field id if >= 0. */
static void
open_advanced(struct ui_smtp *m, int focus)
{
	ui_advanced_open(&m->adv, m->work);
	if (focus >= 0) {
		size_t i = ui_form_find(&m->adv.form, focus);

		cr_assert_neq(i, (size_t)-1);
		cr_assert(m->adv.form.fields[i].enabled, "field %d disabled",
		    focus);
		m->adv.form.focus = i;
	}
}

/* The mark column left of a label: '>' focused, '-' disabled, ' '. */
static char
mark_of(WINDOW *w, const char *label)
{
	int y;
	char *r = row_with(w, label, &y), *hit, mark;

	cr_assert_not_null(r, "no '%s' on screen", label);
	hit = strstr(r, label);
	cr_assert(hit > r, "'%s' at the left edge", label);
	mark = hit[-1];
	free(r);
	return mark;
}

/* Menu */

Test(views, menu_root_labels_and_keys)
{
	struct ui_menu m;
	WINDOW *w = win(80, 24);
	char *r;

	ui_menu_init(&m, &ui_menu_tree);
	view_menu_draw(w, &m);
	r = row(w, 0);
	cr_assert(strncmp(r, " Main menu ", 11) == 0, "breadcrumb: '%s'", r);
	free(r);
	assert_shows(w, ">  Connectivity");
	assert_shows(w, "Quit");
	r = row(w, 23);
	cr_assert(strstr(r, "Enter open") && strstr(r, "F10 quit"),
	    "status line: '%s'", r);
	free(r);
	/* The help line says what the selected item is. */
	r = row(w, 22);
	cr_assert(strspn(r, " ") < strlen(r), "no help line");
	free(r);
	delwin(w);
}

Test(views, menu_breadcrumb_follows_the_path)
{
	static const int sizes[][2] = { { 80, 24 }, { 60, 20 } };
	struct ui_menu m;

	for (size_t s = 0; s < 2; s++) {
		WINDOW *w = win(sizes[s][0], sizes[s][1]);
		char *r;

		ui_menu_init(&m, &ui_menu_tree);
		ui_menu_key(&m, 'c');
		ui_menu_key(&m, UI_KEY_ENTER);
		ui_menu_key(&m, UI_KEY_ENTER);
		ui_menu_key(&m, UI_KEY_ENTER);
		view_menu_draw(w, &m);
		r = row(w, 0);
		cr_assert(strstr(r, " Main menu > Connectivity > Internet "
		    "protocols > MAIL ") == r, "%dx%d: '%s'", sizes[s][0],
		    sizes[s][1], r);
		free(r);
		assert_shows(w, ">  SMTP");
		delwin(w);
	}
}

Test(views, too_small_says_so)
{
	struct ui_menu m;
	WINDOW *w = win(59, 20);
	struct ui_smtp *s;
	struct profile *p = profile("relay", NULL);

	ui_menu_init(&m, &ui_menu_tree);
	view_menu_draw(w, &m);
	assert_shows(w, "terminal too small");
	assert_hides(w, "Connectivity");
	delwin(w);
	w = win(60, 19);
	s = smtp_with(p);
	view_smtp_draw(w, s);
	assert_shows(w, "terminal too small");
	assert_shows(w, "F10");
	delwin(w);
	smtp_free(s);
	profile_free(p);
}

/*
 * A question open on a terminal too small for the screen is shown in the
 * room there is, so that it can be read and answered: its answers always,
 * its text as far as it fits, the notice if there is room left.
 */
Test(views, too_small_shows_the_open_question)
{
	static const char *const answers[] = { "[ Save ]", "[ Discard ]",
	    "[ Cancel ]" };
	struct profile *p = profile("relay", NULL);
	struct ui_smtp *s = smtp_with(p);
	WINDOW *w = win(59, 19);

	s->form.focus = ui_form_find(&s->form, PROFILE_KEY_COMMENT);
	ui_smtp_key(s, 'x');
	ui_smtp_key_hidden(s, UI_KEY_F10);
	cr_assert(s->prompt.active);
	view_smtp_draw(w, s);
	assert_shows(w, "terminal too small (need 60x20)");
	assert_shows(w, "Profile 'relay' has unsaved changes.");
	for (size_t i = 0; i < 3; i++)
		assert_shows(w, answers[i]);
	assert_hides(w, "Host:");
	assert_hides(w, "F10 quits");
	delwin(w);
	/* 20x4: one answer a row, the start of the question above them. */
	w = win(20, 4);
	view_smtp_draw(w, s);
	for (size_t i = 0; i < 3; i++)
		assert_shows(w, answers[i]);
	assert_shows(w, "Profile 'relay'");
	assert_hides(w, "too small");
	delwin(w);
	smtp_free(s);
	profile_free(p);
}

/* The SMTP screen */

static void
check_smtp_layout(int cols, int rows)
{
	static const char *const kv[] = { "from=gw@example.com",
	    "comment=the main relay", NULL };
	static const char *const labels[] = { "Name:", "Active", "Host:",
	    "Port:", "Alt hosts:", "From:", "To:", "EHLO name:", "Comment:",
	    "Enabled", "Default profile:", "Profiles (1)", "[ Advanced... ]",
	    "[ Test ]", "[ Save ]", "[ Cancel ]" };
	struct profile *p = profile("relay", kv);
	struct ui_smtp *m = smtp_with(p);
	WINDOW *w = win(cols, rows);
	char *r;

	view_smtp_draw(w, m);
	r = row(w, 0);
	cr_assert(strstr(r, " Main menu > ") == r, "%dx%d: '%s'", cols, rows,
	    r);
	free(r);
	for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
		assert_shows(w, labels[i]);
	assert_shows(w, "relay");
	assert_shows(w, "[mail.example.org ");
	assert_shows(w, "[465 ");
	assert_shows(w, "[gw@example.com ");
	/* Every text field is closed within the window. */
	for (int y = 0; y < rows; y++) {
		char *rw = row(w, y), *b = strchr(rw, '[');

		if (b != NULL && strstr(rw, ":") != NULL &&
		    strstr(rw, " ]") == NULL)
			cr_assert(strchr(b, ']') != NULL, "%dx%d row %d is "
			    "cut: '%s'", cols, rows, y, rw);
		free(rw);
	}
	r = row(w, rows - 1);
	cr_assert(strstr(r, "Enter edit"), "status line: '%s'", r);
	free(r);
	delwin(w);
	smtp_free(m);
	profile_free(p);
}

Test(views, smtp_labels_at_80x24)
{
	check_smtp_layout(80, 24);
}

Test(views, smtp_labels_at_60x20)
{
	check_smtp_layout(60, 20);
}

Test(views, smtp_labels_at_100x30)
{
	check_smtp_layout(100, 30);
}

/*
 * At the smallest size the breadcrumb still ends with where one is: the
 * screen's own name is the part that must not be cut.
 */
Test(views, breadcrumb_keeps_the_current_screen_at_60x20)
{
	struct profile *p = profile("relay", NULL);
	struct ui_smtp *m = smtp_with(p);
	WINDOW *w = win(60, 20);
	char *r;

	view_smtp_draw(w, m);
	r = row(w, 0);
	cr_assert(strstr(r, "SMTP") != NULL, "the SMTP screen's breadcrumb at "
	    "60 columns: '%s'", r);
	free(r);
	open_advanced(m, -1);
	view_smtp_draw(w, m);
	r = row(w, 0);
	cr_assert(strstr(r, "Advanced") != NULL, "the Advanced dialog's "
	    "breadcrumb at 60 columns: '%s'", r);
	free(r);
	delwin(w);
	smtp_free(m);
	profile_free(p);
}

Test(views, smtp_breadcrumb_at_80x24)
{
	struct profile *p = profile("relay", NULL);
	struct ui_smtp *m = smtp_with(p);
	WINDOW *w = win(80, 24);
	char *r;

	view_smtp_draw(w, m);
	r = row(w, 0);
	cr_assert(strstr(r, " " CRUMB_SMTP " ") == r, "'%s'", r);
	free(r);
	open_advanced(m, -1);
	view_smtp_draw(w, m);
	r = row(w, 0);
	cr_assert(strstr(r, " " CRUMB_SMTP " > Advanced ") == r, "'%s'", r);
	free(r);
	delwin(w);
	smtp_free(m);
	profile_free(p);
}

/* The Advanced dialog */

static void
check_advanced_layout(int cols, int rows)
{
	static const char *const labels[] = { "Use SSL/TLS", "Mode:",
	    "Implicit", "Explicit", "STARTTLS:", "Verify certificate",
	    "CA file:", "Fingerprint:", "Minimum TLS:", "Authentication:",
	    "None", "PLAIN", "LOGIN", "ANONYMOUS", "Login:", "Password:",
	    "Trace:", "Timeout (s):", "Retries:", "First delay (s):",
	    "Maximum delay (s):", "Max connections:", "[ OK ]",
	    "[ Cancel ]" };
	static const char *const kv[] = { "tls=explicit", "port=587", NULL };
	struct profile *p = profile("relay", kv);
	struct ui_smtp *m = smtp_with(p);
	WINDOW *w = win(cols, rows);
	char *r;
	int y;

	open_advanced(m, -1);
	view_smtp_draw(w, m);
	for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
		assert_shows(w, labels[i]);
	assert_shows(w, "[x] Use SSL/TLS");
	assert_shows(w, "( ) Implicit (\xe2\x80\xa2) Explicit");
	assert_shows(w, "Port: 587");
	/* The box's right edge is inside the window on every row. */
	r = row_with(w, "Use SSL/TLS", &y);
	cr_assert_eq(text_utf8_length(r), (size_t)cols, "%dx%d: '%s'", cols,
	    rows, r);
	free(r);
	delwin(w);
	smtp_free(m);
	profile_free(p);
}

Test(views, advanced_labels_at_80x24)
{
	check_advanced_layout(80, 24);
}

Test(views, advanced_labels_at_60x20)
{
	check_advanced_layout(60, 20);
}

Test(views, password_is_masked)
{
	static const char *const kv[] = { "auth=plain", "username=bob",
	    "password=hunter2-secret", NULL };
	static const char *const kv1[] = { "auth=plain", "username=bob",
	    "password=x", NULL };
	struct profile *p = profile("relay", kv), *p1 = profile("one", kv1);
	struct ui_smtp *m = smtp_with(p), *m1 = smtp_with(p1);
	WINDOW *w = win(80, 24);
	char *r, *r1;

	/* Not focused, then focused: the same eight stars. */
	open_advanced(m, -1);
	view_smtp_draw(w, m);
	assert_hides(w, "hunter2");
	r = row_with(w, "Password:", NULL);
	cr_assert(strstr(r, "[********  ]"), "'%s'", r);
	free(r);
	m->adv.form.focus = ui_form_find(&m->adv.form, PROFILE_KEY_PASSWORD);
	view_smtp_draw(w, m);
	assert_hides(w, "hunter2");
	cr_assert_eq(mark_of(w, "Password:"), '>');
	r = row_with(w, "Password:", NULL);
	cr_assert(strstr(r, "********"), "'%s'", r);
	/* A one-letter password looks the same: its length is not shown. */
	open_advanced(m1, PROFILE_KEY_PASSWORD);
	view_smtp_draw(w, m1);
	r1 = row_with(w, "Password:", NULL);
	cr_assert_str_eq(strstr(r1, "Password:"), strstr(r, "Password:"));
	free(r);
	free(r1);
	/* Typing shows nothing of the text either. */
	for (const char *c = "typed-secret"; *c; c++)
		ui_smtp_key(m1, (unsigned char)*c);
	view_smtp_draw(w, m1);
	assert_hides(w, "typed");
	assert_hides(w, "secret");
	/* An empty password is an empty field. */
	ui_smtp_key(m1, UI_KEY_BACKSPACE);
	view_smtp_draw(w, m1);
	r = row_with(w, "Password:", NULL);
	cr_assert_null(strstr(r, "*"), "'%s'", r);
	free(r);
	delwin(w);
	smtp_free(m);
	smtp_free(m1);
	profile_free(p);
	profile_free(p1);
}

Test(views, control_characters_are_escaped)
{
	struct profile *p = profile("evil", NULL);
	struct ui_smtp *m = smtp_with(p);
	WINDOW *w = win(80, 24);
	size_t i;

	/* Text no validation lets in, put in the model directly. */
	i = ui_form_find(&m->form, PROFILE_KEY_COMMENT);
	ui_form_set_text(&m->form, i, "\x1b[31mred\x07");
	i = ui_form_find(&m->form, PROFILE_KEY_FROM);
	ui_form_set_text(&m->form, i, "a\xc2\x9b" "2Jb");	/* C1 CSI */
	free(m->names[0]);
	m->names[0] = xstrdup("ev\x1b]0;title\x07il");
	view_smtp_draw(w, m);
	assert_no_controls(w);
	assert_shows(w, "\\x1b[31mred\\x07");
	assert_shows(w, "a\\u009b2Jb");
	assert_shows(w, "ev\\x1b]0;title\\x07il");

	/* The Test report shows the probe's bytes escaped too. */
	ui_report_open(&m->report, "Test of profile 'evil'");
	{
		static const char raw[] = "greeting \x1b[2J220 hi\r\nline2\n";

		ui_smtp_test_output(m, raw, sizeof raw - 1);
	}
	ui_smtp_test_done(m, "result \x1b" "c");
	view_smtp_draw(w, m);
	assert_no_controls(w);
	assert_shows(w, "greeting \\x1b[2J220 hi");
	assert_shows(w, "result \\x1bc");
	ui_report_clear(&m->report);

	/* A question naming the profile (Delete). */
	m->form.focus = ui_form_find(&m->form, UI_SMTP_LIST);
	ui_smtp_key(m, UI_KEY_DELETE);
	cr_assert(m->prompt.active, "Delete asks");
	view_smtp_draw(w, m);
	assert_no_controls(w);
	assert_shows(w, "ev\\x1b]0;title\\x07il");
	delwin(w);
	smtp_free(m);
	profile_free(p);
}

/* Wide characters are two columns: a field holds half as many. */
Test(views, wide_text_stays_in_its_field)
{
	static const char *const kv[] = { "comment="
	    "\xe6\xbc\xa2\xe5\xad\x97\xe6\xbc\xa2\xe5\xad\x97\xe6\xbc\xa2"
	    "\xe5\xad\x97\xe6\xbc\xa2\xe5\xad\x97\xe6\xbc\xa2\xe5\xad\x97"
	    "\xe6\xbc\xa2\xe5\xad\x97\xe6\xbc\xa2\xe5\xad\x97\xe6\xbc\xa2"
	    "\xe5\xad\x97\xe6\xbc\xa2\xe5\xad\x97\xe6\xbc\xa2\xe5\xad\x97"
	    " end", NULL };
	struct profile *p = profile("wide", kv);
	struct ui_smtp *m = smtp_with(p);
	WINDOW *w = win(80, 24);
	char *r, *next;
	int y;

	view_smtp_draw(w, m);
	r = row_with(w, "Comment:", &y);
	cr_assert_not_null(r);
	next = row(w, y + 1);
	cr_assert(strspn(next, " ") >= 28, "the comment ran onto the next "
	    "row:\n%s\n%s", r, next);
	cr_assert(r[strlen(r) - 1] == ']' || strstr(r, "]") != NULL,
	    "the comment's field is not closed: '%s'", r);
	free(r);
	free(next);
	delwin(w);
	smtp_free(m);
	profile_free(p);
}

Test(views, disabled_fields_are_marked)
{
	static const char *const none[] = { "tls=none", NULL };
	static const char *const plain[] = { "tls=explicit", "auth=plain",
	    "username=bob", NULL };
	static const char *const off_tls[] = { "Mode:", "STARTTLS:",
	    "[x] Verify certificate", "CA file:", "Fingerprint:",
	    "Minimum TLS:", "Login:", "Password:", "Trace:" };
	static const char *const on_always[] = { "Authentication:",
	    "Timeout (s):", "Retries:", "Max connections:" };
	struct profile *p = profile("relay", none), *q = profile("q", plain);
	struct ui_smtp *m = smtp_with(p), *n = smtp_with(q);
	WINDOW *w = win(80, 24);
	int y;
	char *r;

	open_advanced(m, -1);
	view_smtp_draw(w, m);
	for (size_t i = 0; i < sizeof off_tls / sizeof off_tls[0]; i++)
		cr_assert_eq(mark_of(w, off_tls[i]), '-', "%s not disabled",
		    off_tls[i]);
	for (size_t i = 0; i < sizeof on_always / sizeof on_always[0]; i++)
		cr_assert_eq(mark_of(w, on_always[i]), ' ', "%s disabled",
		    on_always[i]);
	assert_shows(w, "- = does not apply");
	/* Dimmed too, not only marked. */
	r = row_with(w, "CA file:", &y);
	{
		int x = (int)(strstr(r, "CA file:") - r);

		cr_assert(mvwinch(w, y, x) & A_DIM, "CA file: not dimmed");
	}
	free(r);

	/* Explicit TLS with PLAIN: those apply, the trace does not. */
	open_advanced(n, -1);
	view_smtp_draw(w, n);
	cr_assert_eq(mark_of(w, "STARTTLS:"), ' ');
	cr_assert_eq(mark_of(w, "Login:"), ' ');
	cr_assert_eq(mark_of(w, "Password:"), ' ');
	cr_assert_eq(mark_of(w, "Trace:"), '-');
	cr_assert_eq(mark_of(w, "[ ] Allow PLAIN"), '-');
	delwin(w);

	/* The main screen with no profile: its fields and buttons. */
	{
		struct ui_smtp *e = smtp_with(NULL);

		w = win(80, 24);
		view_smtp_draw(w, e);
		assert_shows(w, "No profile selected");
		cr_assert_eq(mark_of(w, "Host:"), '-');
		cr_assert_eq(mark_of(w, "[ Advanced... ]"), '-');
		cr_assert_eq(mark_of(w, "[ Test ]"), '-');
		delwin(w);
		smtp_free(e);
	}
	smtp_free(m);
	smtp_free(n);
	profile_free(p);
	profile_free(q);
}

/*
 * A value longer than its box shows its start when the field is not
 * focused; focused, the box follows the cursor (at the end here).
 */
Test(views, long_value_shows_its_start_unless_focused)
{
	struct profile *p = profile("relay", NULL);
	struct ui_smtp *m = smtp_with(p);
	WINDOW *w = win(80, 24);
	size_t i = ui_form_find(&m->form, PROFILE_KEY_COMMENT);
	char *r;

	ui_form_set_text(&m->form, i, "START-" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx-END");
	view_smtp_draw(w, m);
	r = row_with(w, "Comment:", NULL);
	cr_assert(strstr(r, "[START-xxx") != NULL, "unfocused: '%s'", r);
	cr_assert(strstr(r, "-END") == NULL, "unfocused: '%s'", r);
	free(r);
	m->form.focus = i;
	view_smtp_draw(w, m);
	r = row_with(w, "Comment:", NULL);
	cr_assert(strstr(r, "xxx-END") != NULL, "focused: '%s'", r);
	cr_assert(strstr(r, "START") == NULL, "focused: '%s'", r);
	free(r);
	delwin(w);
	smtp_free(m);
	profile_free(p);
}

/* The hints of a key line: the parts between runs of two blanks. */
static size_t
hints_of(const char *line, char hints[][64], size_t max)
{
	size_t n = 0;
	const char *p = line;

	while (*p != '\0' && n < max) {
		const char *e = strstr(p, "  ");
		size_t len = e ? (size_t)(e - p) : strlen(p);

		while (*p == ' ' && len > 0) {
			p++;
			len--;
		}
		if (len > 0) {
			snprintf(hints[n], 64, "%.*s", (int)len, p);
			n++;
		}
		p += len;
		while (*p == ' ')
			p++;
	}
	return n;
}

/*
 * The status line of m drawn at cols x rows: only whole hints of what
 * ui_smtp_keys_help() says, its first one (what the keys do here) and,
 * where it has one, the way out (F10 quit).
 */
static void
check_status(struct ui_smtp *m, int cols, int rows, const char *what)
{
	WINDOW *w = win(cols, rows);
	char want[16][64], got[16][64];
	const char *full = ui_smtp_keys_help(m);
	size_t nw = hints_of(full, want, 16), ng;
	char *r;

	view_smtp_draw(w, m);
	r = row(w, rows - 1);
	ng = hints_of(r, got, 16);
	cr_assert(ng >= 2, "%s %dx%d: '%s'", what, cols, rows, r);
	cr_assert_str_eq(got[0], want[0], "%s %dx%d: '%s'", what, cols, rows,
	    r);
	for (size_t g = 0; g < ng; g++) {
		bool whole = false;

		for (size_t k = 0; k < nw; k++)
			whole |= strcmp(got[g], want[k]) == 0;
		cr_assert(whole, "%s %dx%d: hint '%s' is cut: '%s' (of '%s')",
		    what, cols, rows, got[g], r, full);
	}
	if (strstr(full, "F10 quit") != NULL)
		cr_assert(strstr(r, "F10 quit") != NULL, "%s %dx%d: '%s'",
		    what, cols, rows, r);
	free(r);
	delwin(w);
}

Test(views, status_line_says_the_keys_on_every_screen)
{
	static const int sizes[][2] = { { 80, 24 }, { 60, 20 } };
	struct profile *p = profile("relay", NULL);

	for (size_t s = 0; s < 2; s++) {
		int c = sizes[s][0], l = sizes[s][1];
		struct ui_smtp *m = smtp_with(p);

		m->form.focus = ui_form_find(&m->form, UI_SMTP_LIST);
		check_status(m, c, l, "list");
		m->form.focus = ui_form_find(&m->form, PROFILE_KEY_HOST);
		check_status(m, c, l, "text field");
		m->form.focus = ui_form_find(&m->form, PROFILE_KEY_ACTIVE);
		check_status(m, c, l, "check box");
		m->form.focus = ui_form_find(&m->form, UI_SMTP_SAVE);
		check_status(m, c, l, "button");
		open_advanced(m, PROFILE_KEY_AUTH);
		check_status(m, c, l, "Advanced radio");
		ui_advanced_close(&m->adv);
		m->form.focus = ui_form_find(&m->form, UI_SMTP_LIST);
		ui_smtp_key(m, UI_KEY_DELETE);
		cr_assert(m->prompt.active);
		check_status(m, c, l, "Delete question");
		ui_smtp_key(m, UI_KEY_ESC);
		cr_assert_not(m->prompt.active);
		ui_report_open(&m->report, "Test of profile 'relay'");
		check_status(m, c, l, "Test running");
		cr_assert(strstr(ui_smtp_keys_help(m), "Esc cancel") != NULL);
		ui_smtp_test_done(m, "done");
		check_status(m, c, l, "Test done");
		smtp_free(m);
	}
	/* The menu's own status line. */
	for (size_t s = 0; s < 2; s++) {
		struct ui_menu mm;
		WINDOW *w = win(sizes[s][0], sizes[s][1]);
		char *r;

		ui_menu_init(&mm, &ui_menu_tree);
		view_menu_draw(w, &mm);
		r = row(w, sizes[s][1] - 1);
		cr_assert(strstr(r, "Enter open") && strstr(r, "F10 quit"),
		    "menu %dx%d: '%s'", sizes[s][0], sizes[s][1], r);
		free(r);
		delwin(w);
	}
	profile_free(p);
}

/* Replaces the test's terminal by one of type term. */
static WINDOW *
terminal(const char *term, bool utf8, int cols, int rows)
{
	endwin();
	delscreen(scr);
	setenv("TERM", term, 1);
	scr = newterm(NULL, out, in);
	cr_assert_not_null(scr, "newterm(%s) failed", term);
	set_term(scr);
	view_setup(utf8);
	return win(cols, rows);
}

/*
 * Colours where the terminal has them; without them (vt100, ASCII) the
 * same screen is readable: every marker is a character ('>' focus, '-'
 * does not apply, "(*)" chosen, "[x]" ticked), focus and bars reversed.
 */
Test(views, readable_without_colours)
{
	static const char *const kv[] = { "tls=explicit", "port=587", NULL };
	struct profile *p = profile("relay", kv);
	struct ui_smtp *m = smtp_with(p);
	WINDOW *w = win(80, 24);
	int y;
	char *r;
	chtype c;

	open_advanced(m, PROFILE_KEY_STARTTLS);
	view_smtp_draw(w, m);
	r = row_with(w, "STARTTLS:", &y);
	c = mvwinch(w, y, (int)(strstr(r, "(\xe2\x80\xa2) Mandatory") - r));
	cr_assert(has_colors(), "xterm-256color has colours");
	cr_assert_neq(PAIR_NUMBER(c & A_COLOR), 0, "focus not coloured");
	free(r);
	delwin(w);

	w = terminal("vt100", false, 80, 24);
	cr_assert_not(has_colors());
	view_smtp_draw(w, m);
	assert_no_controls(w);
	assert_shows(w, "[x] Use SSL/TLS");
	assert_shows(w, "( ) Implicit (*) Explicit");
	cr_assert_eq(mark_of(w, "STARTTLS:"), '>');
	cr_assert_eq(mark_of(w, "Trace:"), '-');
	r = row_with(w, "STARTTLS:", &y);
	c = mvwinch(w, y, (int)(strstr(r, "(*) Mandatory") - r));
	cr_assert(c & A_REVERSE, "focus not shown without colours");
	cr_assert_eq(PAIR_NUMBER(c & A_COLOR), 0);
	free(r);
	cr_assert(mvwinch(w, 0, 1) & A_REVERSE, "breadcrumb bar not shown");
	cr_assert(mvwinch(w, 23, 1) & A_REVERSE, "status bar not shown");
	delwin(w);

	/* The smallest size, ASCII: the crumb's ellipsis is "...". */
	w = win(60, 20);
	view_smtp_draw(w, m);
	r = row(w, 0);
	cr_assert(strstr(r, "> ... > ") && strstr(r, "Advanced"), "'%s'", r);
	free(r);
	delwin(w);
	smtp_free(m);
	profile_free(p);
}
