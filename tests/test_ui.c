/*
 * tests/test_ui.c: the menu's models (core/ui_*.h) without a terminal:
 * keys, validation refusals in gwadmin set's words, the port-default and
 * disabled-field rules, unsaved-change questions, stale-edit results.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/profile.h"
#include "core/ui_advanced.h"
#include "core/ui_form.h"
#include "core/ui_key.h"
#include "core/ui_menu.h"
#include "core/ui_prompt.h"
#include "core/ui_report.h"
#include "core/ui_smtp.h"

static void
type(bool (*fn)(void *, int), void *m, const char *s)
{
	for (; *s; s++)
		fn(m, (unsigned char)*s);
}

static bool
smtp_key(void *m, int k)
{
	return ui_smtp_key(m, k);
}

static bool
adv_key(void *m, int k)
{
	return ui_advanced_key(m, k) != UI_ADV_IGNORED;
}

static bool
form_key(void *m, int k)
{
	return ui_form_key(m, k) != UI_FORM_IGNORED;
}

/* Menu */

Test(menu, path_by_keys_and_breadcrumb)
{
	struct ui_menu m;
	char *c;

	ui_menu_init(&m, &ui_menu_tree);
	cr_assert_str_eq(ui_menu_current(&m)->children[0].label,
	    "Connectivity");
	cr_assert_eq(ui_menu_key(&m, UI_KEY_ENTER), UI_MENU_CHANGED);
	cr_assert_eq(ui_menu_key(&m, 'i'), UI_MENU_CHANGED);
	cr_assert_eq(ui_menu_key(&m, UI_KEY_RIGHT), UI_MENU_CHANGED);
	cr_assert_eq(ui_menu_key(&m, 'm'), UI_MENU_CHANGED);
	cr_assert_eq(ui_menu_key(&m, UI_KEY_ENTER), UI_MENU_CHANGED);
	c = ui_menu_breadcrumb(&m);
	cr_assert_str_eq(c, "Main menu > Connectivity > Internet protocols > "
	    "MAIL");
	free(c);
	cr_assert_eq(ui_menu_key(&m, 's'), UI_MENU_CHANGED);
	cr_assert_eq(ui_menu_key(&m, UI_KEY_ENTER), UI_MENU_OPEN);
	cr_assert_eq(m.action, UI_ACTION_SMTP);
	cr_assert_eq(ui_menu_key(&m, UI_KEY_ESC), UI_MENU_CHANGED);
	cr_assert_eq(ui_menu_key(&m, UI_KEY_LEFT), UI_MENU_CHANGED);
	cr_assert_eq(ui_menu_key(&m, UI_KEY_ESC), UI_MENU_CHANGED);
	cr_assert_eq(m.depth, 0);
	cr_assert_eq(ui_menu_key(&m, UI_KEY_ESC), UI_MENU_QUIT);
}

Test(menu, moves_wrap_jump_and_quit)
{
	struct ui_menu m;

	ui_menu_init(&m, &ui_menu_tree);
	cr_assert_eq(ui_menu_key(&m, UI_KEY_UP), UI_MENU_CHANGED);
	cr_assert_str_eq(ui_menu_current(&m)->children[ui_menu_selected(&m)]
	    .label, "Quit");
	ui_menu_key(&m, UI_KEY_DOWN);
	cr_assert_eq(ui_menu_selected(&m), 0);
	ui_menu_key(&m, UI_KEY_END);
	cr_assert_eq(ui_menu_selected(&m), 1);
	ui_menu_key(&m, UI_KEY_HOME);
	cr_assert_eq(ui_menu_selected(&m), 0);
	ui_menu_key(&m, 'Q');
	cr_assert_eq(ui_menu_selected(&m), 1);
	ui_menu_key(&m, 'z');
	cr_assert_eq(ui_menu_selected(&m), 1);
	cr_assert_eq(ui_menu_key(&m, UI_KEY_ENTER), UI_MENU_QUIT);
	cr_assert_eq(ui_menu_key(&m, UI_KEY_F10), UI_MENU_QUIT);
	cr_assert_eq(ui_menu_key(&m, UI_KEY_F1), UI_MENU_IGNORED);
}

/* Form */

static int
refuse_x(void *arg, struct ui_form *f, size_t i, char **cause)
{
	(void)arg;
	if (strchr(f->fields[i].text, 'x') != NULL) {
		*cause = strdup("no x");
		return -1;
	}
	return 0;
}

Test(form, editing_keys)
{
	struct ui_form f;
	struct ui_form_hooks h = { refuse_x, NULL, NULL };
	static const char *const opts[] = { "A", "B", "C" };

	ui_form_init(&f, &h);
	ui_form_add_text(&f, 1, "T", UI_FIELD_TEXT, "ac");
	ui_form_add_text(&f, 2, "S", UI_FIELD_SECRET, "old");
	ui_form_add_text(&f, 3, "N", UI_FIELD_NUMBER, "");
	ui_form_add_check(&f, 4, "C", false);
	ui_form_add_radio(&f, 5, "R", opts, 3, 0);
	ui_form_add_button(&f, 6, "B");
	cr_assert_eq(f.focus, 0);
	ui_form_key(&f, UI_KEY_LEFT);
	ui_form_key(&f, 'b');
	cr_assert_str_eq(f.fields[0].text, "abc");
	ui_form_key(&f, UI_KEY_HOME);
	ui_form_key(&f, UI_KEY_DELETE);
	cr_assert_str_eq(f.fields[0].text, "bc");
	ui_form_key(&f, UI_KEY_END);
	ui_form_key(&f, UI_KEY_BACKSPACE);
	cr_assert_str_eq(f.fields[0].text, "b");
	ui_form_key(&f, 0xe9);		/* é: UTF-8 */
	cr_assert_str_eq(f.fields[0].text, "b\xc3\xa9");
	ui_form_key(&f, UI_KEY_LEFT);
	ui_form_key(&f, UI_KEY_RIGHT);
	ui_form_key(&f, UI_KEY_BACKSPACE);
	cr_assert_str_eq(f.fields[0].text, "b");
	cr_assert(f.dirty);
	/* refused in place */
	ui_form_key(&f, 'x');
	cr_assert_eq(ui_form_key(&f, UI_KEY_TAB), UI_FORM_REFUSED);
	cr_assert_eq(f.focus, 0);
	cr_assert_str_eq(f.fields[0].error, "no x");
	ui_form_key(&f, UI_KEY_BACKSPACE);
	cr_assert_eq(ui_form_key(&f, UI_KEY_ENTER), UI_FORM_CHANGED);
	cr_assert_eq(f.focus, 1);
	cr_assert_null(f.fields[0].error);
	/* secret: first key replaces, backspace clears */
	type(form_key, &f, "new");
	cr_assert_str_eq(f.fields[1].text, "new");
	ui_form_key(&f, UI_KEY_BACKSPACE);
	cr_assert_str_eq(f.fields[1].text, "");
	ui_form_key(&f, UI_KEY_DOWN);
	type(form_key, &f, "4a2");
	cr_assert_str_eq(f.fields[2].text, "42");
	ui_form_key(&f, UI_KEY_TAB);
	ui_form_key(&f, ' ');
	cr_assert(f.fields[3].checked);
	ui_form_key(&f, ' ');
	cr_assert_not(f.fields[3].checked);
	ui_form_key(&f, UI_KEY_TAB);
	ui_form_key(&f, UI_KEY_RIGHT);
	ui_form_key(&f, UI_KEY_RIGHT);
	ui_form_key(&f, UI_KEY_RIGHT);
	cr_assert_eq(f.fields[4].choice, 0);
	ui_form_key(&f, ' ');
	cr_assert_eq(f.fields[4].choice, 2);
	ui_form_key(&f, UI_KEY_LEFT);
	ui_form_key(&f, UI_KEY_ENTER);
	cr_assert_eq(f.fields[4].choice, 1);
	ui_form_key(&f, UI_KEY_TAB);
	cr_assert_eq(ui_form_key(&f, UI_KEY_ENTER), UI_FORM_ACTIVATED);
	cr_assert_eq(ui_form_key(&f, ' '), UI_FORM_ACTIVATED);
	cr_assert_eq(ui_form_key(&f, UI_KEY_F1), UI_FORM_IGNORED);
	ui_form_key(&f, UI_KEY_TAB);
	cr_assert_eq(f.focus, 0);	/* wraps */
	ui_form_key(&f, UI_KEY_BTAB);
	cr_assert_eq(f.focus, 5);
	ui_form_key(&f, UI_KEY_UP);
	cr_assert_eq(f.focus, 4);
	/* disabled fields are skipped and lose the focus */
	ui_form_enable(&f, 4, false);
	cr_assert_eq(f.focus, 5);
	ui_form_key(&f, UI_KEY_BTAB);
	cr_assert_eq(f.focus, 3);
	ui_form_clear(&f);
}

/* Prompt and report */

Test(prompt, keys)
{
	struct ui_prompt p = { 0 };
	static const char *const a[] = { "Save", "Discard", "Cancel" };

	ui_prompt_open(&p, 7, "q", a, 3);
	cr_assert_eq(ui_prompt_key(&p, UI_KEY_RIGHT), -1);
	cr_assert_eq(ui_prompt_key(&p, UI_KEY_ENTER), 1);
	cr_assert_not(p.active);
	ui_prompt_open(&p, 7, "q", a, 3);
	cr_assert_eq(ui_prompt_key(&p, UI_KEY_ESC), 2);
	ui_prompt_open(&p, 7, "q", a, 3);
	cr_assert_eq(ui_prompt_key(&p, 'd'), 1);
	ui_prompt_open(&p, 7, "q", a, 3);
	ui_prompt_key(&p, UI_KEY_LEFT);
	cr_assert_eq(ui_prompt_key(&p, ' '), 2);
}

Test(report, lines_and_scroll)
{
	struct ui_report r = { 0 };

	ui_report_open(&r, "t");
	ui_report_append(&r, "a\nb", 3);
	ui_report_append(&r, "c\nd\ne\n", 6);
	cr_assert_eq(r.nlines, 4);
	cr_assert_str_eq(r.lines[1], "bc");
	ui_report_finish(&r, "cancelled");
	cr_assert_not(r.running);
	cr_assert_str_eq(r.lines[4], "cancelled");
	r.height = 2;
	ui_report_key(&r, UI_KEY_END);
	cr_assert_eq(r.top, 3);
	ui_report_key(&r, UI_KEY_DOWN);
	cr_assert_eq(r.top, 3);
	ui_report_key(&r, UI_KEY_PGUP);
	cr_assert_eq(r.top, 2);
	ui_report_key(&r, UI_KEY_HOME);
	ui_report_key(&r, UI_KEY_UP);
	cr_assert_eq(r.top, 0);
	ui_report_key(&r, UI_KEY_PGDN);
	cr_assert_eq(r.top, 1);
	cr_assert_not(ui_report_key(&r, 'x'));
	ui_report_clear(&r);
}

/* Advanced */

static struct ui_field *
adv(struct ui_advanced *a, int id)
{
	return ui_form_field(&a->form, id);
}

static void
focus(struct ui_form *f, int id)
{
	cr_assert_eq(ui_form_focus(f, ui_form_find(f, id)), UI_FORM_CHANGED);
}

Test(advanced, disabled_rules)
{
	struct profile *p = profile_new("x");
	struct ui_advanced a = { 0 };

	p->tls = PROFILE_TLS_NONE;
	p->port = 25;
	ui_advanced_open(&a, p);
	cr_assert_not(adv(&a, UI_ADV_MODE)->enabled);
	cr_assert_not(adv(&a, PROFILE_KEY_STARTTLS)->enabled);
	cr_assert_not(adv(&a, PROFILE_KEY_VERIFY)->enabled);
	cr_assert_not(adv(&a, PROFILE_KEY_CA_FILE)->enabled);
	cr_assert_not(adv(&a, PROFILE_KEY_FINGERPRINT)->enabled);
	cr_assert_not(adv(&a, PROFILE_KEY_TLS_MIN)->enabled);
	cr_assert_not(adv(&a, PROFILE_KEY_USERNAME)->enabled);
	cr_assert_not(adv(&a, PROFILE_KEY_PASSWORD)->enabled);
	cr_assert_not(adv(&a, PROFILE_KEY_TRACE)->enabled);
	ui_advanced_key(&a, ' ');	/* tick Use SSL/TLS: implicit */
	cr_assert_eq(a.p->tls, PROFILE_TLS_IMPLICIT);
	cr_assert(adv(&a, UI_ADV_MODE)->enabled);
	cr_assert_not(adv(&a, PROFILE_KEY_STARTTLS)->enabled);
	cr_assert(adv(&a, PROFILE_KEY_VERIFY)->enabled);
	cr_assert(adv(&a, PROFILE_KEY_TLS_MIN)->enabled);
	ui_advanced_key(&a, UI_KEY_TAB);
	ui_advanced_key(&a, UI_KEY_RIGHT);
	ui_advanced_key(&a, ' ');
	cr_assert_eq(a.p->tls, PROFILE_TLS_EXPLICIT);
	cr_assert(adv(&a, PROFILE_KEY_STARTTLS)->enabled);
	focus(&a.form, PROFILE_KEY_AUTH);
	ui_advanced_key(&a, UI_KEY_END);	/* ignored on a radio */
	for (int i = 0; i < 3; i++)
		ui_advanced_key(&a, UI_KEY_RIGHT);
	ui_advanced_key(&a, ' ');
	cr_assert_eq(a.p->auth, PROFILE_AUTH_ANONYMOUS);
	cr_assert(adv(&a, PROFILE_KEY_TRACE)->enabled);
	cr_assert_not(adv(&a, PROFILE_KEY_USERNAME)->enabled);
	ui_advanced_key(&a, UI_KEY_LEFT);
	ui_advanced_key(&a, UI_KEY_LEFT);
	ui_advanced_key(&a, ' ');
	cr_assert_eq(a.p->auth, PROFILE_AUTH_PLAIN);
	cr_assert(adv(&a, PROFILE_KEY_USERNAME)->enabled);
	cr_assert(adv(&a, PROFILE_KEY_PASSWORD)->enabled);
	cr_assert_not(adv(&a, PROFILE_KEY_TRACE)->enabled);
	cr_assert_not(adv(&a, PROFILE_KEY_ALLOW_PLAIN_AUTH_WITHOUT_TLS)
	    ->enabled);
	ui_advanced_close(&a);
	profile_free(p);
}

Test(advanced, port_default_rule)
{
	struct profile *p = profile_new("x");
	struct ui_advanced a = { 0 };

	p->tls = PROFILE_TLS_NONE;
	p->port = 25;
	ui_advanced_open(&a, p);
	ui_advanced_key(&a, ' ');
	cr_assert_eq(a.p->port, 465);
	ui_advanced_key(&a, UI_KEY_TAB);
	ui_advanced_key(&a, UI_KEY_RIGHT);
	ui_advanced_key(&a, ' ');
	cr_assert_eq(a.p->port, 587);
	ui_advanced_key(&a, UI_KEY_LEFT);
	ui_advanced_key(&a, ' ');
	cr_assert_eq(a.p->port, 465);
	ui_advanced_key(&a, UI_KEY_BTAB);
	ui_advanced_key(&a, ' ');	/* untick */
	cr_assert_eq(a.p->port, 25);
	cr_assert_eq(a.p->tls, PROFILE_TLS_NONE);
	ui_advanced_close(&a);
	/* a typed port stays */
	p->port = 2525;
	ui_advanced_open(&a, p);
	ui_advanced_key(&a, ' ');
	cr_assert_eq(a.p->port, 2525);
	cr_assert_eq(a.p->tls, PROFILE_TLS_IMPLICIT);
	ui_advanced_close(&a);
	profile_free(p);
}

Test(advanced, refusal_ok_and_cancel)
{
	struct profile *p = profile_new("x"), *q;
	struct ui_advanced a = { 0 };
	char *cause = NULL, *want;

	ui_advanced_open(&a, p);
	focus(&a.form, PROFILE_KEY_TIMEOUT);
	ui_advanced_key(&a, UI_KEY_BACKSPACE);
	ui_advanced_key(&a, UI_KEY_BACKSPACE);
	type(adv_key, &a, "9999");
	cr_assert_eq(ui_advanced_key(&a, UI_KEY_TAB), UI_ADV_CHANGED);
	cr_assert_eq(ui_form_focus_id(&a.form), PROFILE_KEY_TIMEOUT);
	cr_assert_eq(profile_set(p, PROFILE_KEY_TIMEOUT, "9999", &cause), -1);
	cr_assert_neq(asprintf(&want, "timeout: %s", cause), -1);
	cr_assert_str_eq(adv(&a, PROFILE_KEY_TIMEOUT)->error, want);
	cr_assert_str_eq(a.message, want);
	free(want);
	free(cause);
	ui_advanced_key(&a, UI_KEY_BACKSPACE);
	ui_advanced_key(&a, UI_KEY_BACKSPACE);
	cr_assert_eq(ui_advanced_key(&a, UI_KEY_TAB), UI_ADV_CHANGED);
	cr_assert_eq(a.p->timeout, 99);
	/* PLAIN without a login: OK refused on the login field */
	focus(&a.form, PROFILE_KEY_AUTH);
	ui_advanced_key(&a, UI_KEY_RIGHT);
	ui_advanced_key(&a, ' ');
	focus(&a.form, UI_ADV_OK);
	cr_assert_eq(ui_advanced_key(&a, UI_KEY_ENTER), UI_ADV_CHANGED);
	cr_assert_eq(ui_form_focus_id(&a.form), PROFILE_KEY_USERNAME);
	cr_assert_not_null(strstr(a.message, "username: is required"));
	type(adv_key, &a, "gw");
	ui_advanced_key(&a, UI_KEY_TAB);
	type(adv_key, &a, "pw");
	focus(&a.form, UI_ADV_OK);
	cr_assert_eq(ui_advanced_key(&a, UI_KEY_ENTER), UI_ADV_DONE_OK);
	q = ui_advanced_take(&a);
	cr_assert_not(a.active);
	cr_assert_str_eq(q->username, "gw");
	cr_assert_str_eq(q->password, "pw");
	cr_assert_eq(q->timeout, 99);
	profile_free(q);
	/* Esc: closes at once when nothing changed, asks when it did. */
	ui_advanced_open(&a, p);
	cr_assert_eq(ui_advanced_key(&a, UI_KEY_ESC), UI_ADV_DONE_CANCEL);
	cr_assert_not(a.active);
	ui_advanced_open(&a, p);
	ui_advanced_key(&a, ' ');
	cr_assert_eq(ui_advanced_key(&a, UI_KEY_ESC), UI_ADV_ASK_DISCARD);
	cr_assert(a.active);
	ui_advanced_close(&a);
	ui_advanced_open(&a, p);
	focus(&a.form, UI_ADV_CANCEL);
	cr_assert_eq(ui_advanced_key(&a, ' '), UI_ADV_DONE_CANCEL);
	profile_free(p);
}

/* SMTP screen */

static struct ui_request
pop(struct ui_smtp *m, enum ui_request_type want)
{
	struct ui_request r;

	cr_assert(ui_smtp_request(m, &r), "no request (wanted %d)", want);
	cr_assert_eq(r.type, want, "request %d, wanted %d", r.type, want);
	return r;
}

static void
no_request(struct ui_smtp *m)
{
	struct ui_request r;

	cr_assert_not(ui_smtp_request(m, &r), "unexpected request %d",
	    r.type);
}

/* Opens the screen on two profiles, "a" (loaded) and "b". */
static void
open_two(struct ui_smtp *m)
{
	struct smtp_settings set;
	static const char *const names[] = { "a", "b" };
	struct ui_request r;
	struct profile *p = profile_new("a");

	settings_init(&set);
	ui_smtp_open(m, &set);
	settings_clear(&set);
	r = pop(m, UI_REQ_LOAD_NAMES);
	cr_assert_eq(r.offset, 0);
	ui_smtp_names_loaded(m, 0, names, 2, 2);
	r = pop(m, UI_REQ_LOAD_PROFILE);
	cr_assert_str_eq(r.name, "a");
	profile_set(p, PROFILE_KEY_HOST, "mx.example.com", NULL);
	p->revision = 3;
	ui_smtp_profile_loaded(m, UI_RESULT_OK, p, NULL);
	no_request(m);
	cr_assert_not(ui_smtp_dirty(m));
}

Test(smtp, open_list_and_load)
{
	struct ui_smtp m;
	struct ui_request r;

	open_two(&m);
	cr_assert_eq(ui_form_focus_id(&m.form), UI_SMTP_LIST);
	cr_assert_str_eq(ui_form_field(&m.form, PROFILE_KEY_HOST)->text,
	    "mx.example.com");
	cr_assert_not(ui_form_field(&m.form, PROFILE_KEY_NAME)->enabled);
	ui_smtp_key(&m, UI_KEY_DOWN);
	cr_assert_eq(m.sel, 1);
	ui_smtp_key(&m, UI_KEY_DOWN);
	cr_assert_eq(m.sel, 1);
	ui_smtp_key(&m, UI_KEY_ENTER);
	r = pop(&m, UI_REQ_LOAD_PROFILE);
	cr_assert_str_eq(r.name, "b");
	ui_smtp_profile_loaded(&m, UI_RESULT_OK, profile_new("b"), NULL);
	cr_assert_eq(ui_form_focus_id(&m.form), PROFILE_KEY_HOST);
	ui_smtp_key(&m, UI_KEY_BTAB);
	ui_smtp_key(&m, UI_KEY_BTAB);	/* the name is skipped: disabled */
	cr_assert_eq(ui_form_focus_id(&m.form), UI_SMTP_LIST);
	ui_smtp_key(&m, UI_KEY_HOME);
	cr_assert_eq(m.sel, 0);
	ui_smtp_key(&m, UI_KEY_END);
	cr_assert_eq(m.sel, 1);
	ui_smtp_key(&m, UI_KEY_PGUP);
	cr_assert_eq(m.sel, 0);
	ui_smtp_key(&m, UI_KEY_PGDN);
	cr_assert_eq(m.sel, 1);
	no_request(&m);
	ui_smtp_close(&m);
}

Test(smtp, invalid_port_refused_in_place)
{
	struct ui_smtp m;
	char *cause = NULL, *want;
	struct profile *p = profile_new("z");

	open_two(&m);
	focus(&m.form, PROFILE_KEY_PORT);
	type(smtp_key, &m, "0");	/* 4650 */
	ui_smtp_key(&m, UI_KEY_HOME);
	ui_smtp_key(&m, UI_KEY_DELETE);
	ui_smtp_key(&m, UI_KEY_DELETE);
	ui_smtp_key(&m, UI_KEY_DELETE);
	ui_smtp_key(&m, UI_KEY_DELETE);
	type(smtp_key, &m, "70000");
	ui_smtp_key(&m, UI_KEY_TAB);
	cr_assert_eq(ui_form_focus_id(&m.form), PROFILE_KEY_PORT);
	profile_set(p, PROFILE_KEY_PORT, "70000", &cause);
	cr_assert_neq(asprintf(&want, "port: %s", cause), -1);
	cr_assert_str_eq(ui_form_field(&m.form, PROFILE_KEY_PORT)->error, want);
	cr_assert_str_eq(m.message, want);
	cr_assert(ui_smtp_dirty(&m));
	/* Save refused too, with nothing sent to the store */
	focus(&m.form, PROFILE_KEY_PORT);
	ui_smtp_key(&m, UI_KEY_HOME);
	ui_smtp_key(&m, UI_KEY_DELETE);
	type(smtp_key, &m, "");
	cr_assert_str_eq(ui_form_field(&m.form, PROFILE_KEY_PORT)->text,
	    "0000");
	ui_smtp_key(&m, UI_KEY_ENTER);
	cr_assert_eq(ui_form_focus_id(&m.form), PROFILE_KEY_PORT);
	no_request(&m);
	free(want);
	free(cause);
	profile_free(p);
	ui_smtp_close(&m);
}

Test(smtp, save_ok_and_stale)
{
	struct ui_smtp m;
	struct ui_request r;

	open_two(&m);
	focus(&m.form, PROFILE_KEY_HOST);
	ui_smtp_key(&m, UI_KEY_BACKSPACE);
	type(smtp_key, &m, "n");
	focus(&m.form, UI_SMTP_SAVE);
	ui_smtp_key(&m, UI_KEY_ENTER);
	r = pop(&m, UI_REQ_SAVE);
	cr_assert_not_null(r.profile);
	cr_assert_null(r.settings);
	cr_assert_str_eq(r.profile->host, "mx.example.con");
	cr_assert_eq(r.profile->revision, 3);
	ui_smtp_saved(&m, UI_RESULT_STALE, 0, NULL);
	cr_assert(m.prompt.active);
	cr_assert_eq(m.prompt.kind, UI_SMTP_PROMPT_STALE);
	cr_assert_not_null(strstr(m.prompt.text, "changed by another program"));
	cr_assert_str_eq(m.prompt.answers[0], "Reload");
	cr_assert_str_eq(m.prompt.answers[1], "Keep editing");
	ui_smtp_key(&m, 'k');	/* keep editing */
	no_request(&m);
	cr_assert(ui_smtp_dirty(&m));
	ui_smtp_key(&m, UI_KEY_ENTER);
	pop(&m, UI_REQ_SAVE);
	ui_smtp_saved(&m, UI_RESULT_STALE, 0, NULL);
	ui_smtp_key(&m, UI_KEY_ENTER);	/* reload */
	r = pop(&m, UI_REQ_LOAD_PROFILE);
	cr_assert_str_eq(r.name, "a");
	ui_smtp_profile_loaded(&m, UI_RESULT_OK, profile_new("a"), NULL);
	cr_assert_not(ui_smtp_dirty(&m));
	/* a save that works */
	focus(&m.form, PROFILE_KEY_HOST);
	type(smtp_key, &m, "h.example");
	focus(&m.form, UI_SMTP_SAVE);
	ui_smtp_key(&m, ' ');
	r = pop(&m, UI_REQ_SAVE);
	ui_smtp_saved(&m, UI_RESULT_OK, 9, NULL);
	cr_assert_not(ui_smtp_dirty(&m));
	cr_assert_eq(m.orig->revision, 9);
	cr_assert_str_eq(m.message, "Saved profile 'a'.");
	/* a store error */
	focus(&m.form, PROFILE_KEY_COMMENT);
	type(smtp_key, &m, "c");
	focus(&m.form, UI_SMTP_SAVE);
	ui_smtp_key(&m, ' ');
	pop(&m, UI_REQ_SAVE);
	ui_smtp_saved(&m, UI_RESULT_ERROR, 0, "disk full");
	cr_assert_str_eq(m.prompt.text, "Not saved: disk full");
	ui_smtp_key(&m, UI_KEY_ENTER);
	cr_assert(ui_smtp_dirty(&m));
	ui_smtp_close(&m);
}

Test(smtp, unsaved_changes_ask)
{
	struct ui_smtp m;
	struct ui_request r;

	open_two(&m);
	focus(&m.form, PROFILE_KEY_COMMENT);
	type(smtp_key, &m, "hello");
	ui_smtp_key(&m, UI_KEY_ESC);
	cr_assert(m.prompt.active);
	cr_assert_eq(m.prompt.kind, UI_SMTP_PROMPT_UNSAVED);
	ui_smtp_key(&m, UI_KEY_ESC);	/* Cancel */
	no_request(&m);
	cr_assert(ui_smtp_dirty(&m));
	ui_smtp_key(&m, UI_KEY_F10);
	ui_smtp_key(&m, 's');		/* Save, then quit */
	r = pop(&m, UI_REQ_SAVE);
	cr_assert_str_eq(r.profile->comment, "hello");
	no_request(&m);
	ui_smtp_saved(&m, UI_RESULT_OK, 4, NULL);
	pop(&m, UI_REQ_QUIT);
	/* Discard then leave */
	focus(&m.form, PROFILE_KEY_COMMENT);
	type(smtp_key, &m, "!");
	ui_smtp_key(&m, UI_KEY_ESC);
	ui_smtp_key(&m, 'd');
	pop(&m, UI_REQ_CLOSE);
	cr_assert_str_eq(ui_form_field(&m.form, PROFILE_KEY_COMMENT)->text,
	    "hello");
	/* Not dirty: Esc leaves at once */
	ui_smtp_key(&m, UI_KEY_ESC);
	pop(&m, UI_REQ_CLOSE);
	/* Switching profiles with changes asks too */
	focus(&m.form, UI_SMTP_SETTINGS + SETTINGS_KEY_SUBJECT_PARAMS);
	ui_smtp_key(&m, ' ');
	cr_assert(ui_smtp_dirty(&m));
	focus(&m.form, UI_SMTP_LIST);
	ui_smtp_key(&m, UI_KEY_DOWN);
	ui_smtp_key(&m, UI_KEY_ENTER);
	cr_assert(m.prompt.active);
	ui_smtp_key(&m, UI_KEY_ENTER);	/* Save */
	r = pop(&m, UI_REQ_SAVE);
	cr_assert_null(r.profile);
	cr_assert(r.settings->subject_params);
	ui_smtp_saved(&m, UI_RESULT_OK, 0, NULL);
	r = pop(&m, UI_REQ_LOAD_PROFILE);
	cr_assert_str_eq(r.name, "b");
	ui_smtp_close(&m);
}

Test(smtp, add_and_delete)
{
	struct ui_smtp m;
	struct ui_request r;
	static const char *const names[] = { "b" };
	static const char *const names2[] = { "b", "new1" };

	open_two(&m);
	ui_smtp_key(&m, UI_KEY_INSERT);
	cr_assert_eq(ui_form_focus_id(&m.form), PROFILE_KEY_NAME);
	cr_assert(ui_form_field(&m.form, PROFILE_KEY_NAME)->enabled);
	cr_assert(ui_smtp_dirty(&m));
	type(smtp_key, &m, "bad name");
	ui_smtp_key(&m, UI_KEY_TAB);
	cr_assert_eq(ui_form_focus_id(&m.form), PROFILE_KEY_NAME);
	cr_assert_not_null(strstr(m.message, "name: "));
	for (int i = 0; i < 5; i++)
		ui_smtp_key(&m, UI_KEY_BACKSPACE);
	type(smtp_key, &m, "1");
	ui_smtp_key(&m, UI_KEY_TAB);
	focus(&m.form, UI_SMTP_SAVE);
	ui_smtp_key(&m, UI_KEY_ENTER);	/* no host: refused */
	cr_assert(m.prompt.active);
	cr_assert_not_null(strstr(m.prompt.text,
	    "profile 'bad1': host: is missing"));
	no_request(&m);
	ui_smtp_key(&m, UI_KEY_ENTER);
	cr_assert_eq(ui_form_focus_id(&m.form), PROFILE_KEY_HOST);
	ui_smtp_close(&m);

	open_two(&m);
	ui_smtp_key(&m, '-');
	cr_assert_eq(m.prompt.kind, UI_SMTP_PROMPT_DELETE);
	ui_smtp_key(&m, UI_KEY_ESC);
	no_request(&m);
	ui_smtp_key(&m, UI_KEY_DELETE);
	ui_smtp_key(&m, UI_KEY_ENTER);
	r = pop(&m, UI_REQ_DELETE_PROFILE);
	cr_assert_str_eq(r.name, "a");
	ui_smtp_deleted(&m, UI_RESULT_OK, NULL);
	cr_assert_null(m.work);
	pop(&m, UI_REQ_LOAD_NAMES);
	ui_smtp_names_loaded(&m, 0, names, 1, 1);
	r = pop(&m, UI_REQ_LOAD_PROFILE);
	cr_assert_str_eq(r.name, "b");
	ui_smtp_profile_loaded(&m, UI_RESULT_OK, profile_new("b"), NULL);
	/* a new profile saved */
	ui_smtp_key(&m, '+');
	type(smtp_key, &m, "new1");
	ui_smtp_key(&m, UI_KEY_TAB);
	ui_smtp_key(&m, UI_KEY_TAB);
	type(smtp_key, &m, "h.example");
	focus(&m.form, UI_SMTP_SAVE);
	ui_smtp_key(&m, UI_KEY_ENTER);
	r = pop(&m, UI_REQ_SAVE);
	cr_assert_str_eq(r.profile->name, "new1");
	cr_assert_eq(r.profile->revision, 0);
	ui_smtp_saved(&m, UI_RESULT_OK, 1, NULL);
	cr_assert_not(ui_form_field(&m.form, PROFILE_KEY_NAME)->enabled);
	pop(&m, UI_REQ_LOAD_NAMES);
	ui_smtp_names_loaded(&m, 0, names2, 2, 2);
	no_request(&m);
	ui_smtp_close(&m);
}

Test(smtp, advanced_and_test)
{
	struct ui_smtp m;
	struct ui_request r;

	open_two(&m);
	focus(&m.form, UI_SMTP_ADVANCED);
	ui_smtp_key(&m, UI_KEY_ENTER);
	cr_assert(m.adv.active);
	ui_smtp_key(&m, ' ');		/* a new profile is implicit: untick */
	cr_assert_eq(m.adv.p->port, 25);
	ui_smtp_key(&m, UI_KEY_F1);
	cr_assert_eq(m.prompt.kind, UI_SMTP_PROMPT_HELP);
	cr_assert_not_null(strstr(m.prompt.text, "tls: "));
	ui_smtp_key(&m, UI_KEY_ENTER);
	focus(&m.adv.form, UI_ADV_OK);
	ui_smtp_key(&m, UI_KEY_ENTER);
	cr_assert_not(m.adv.active);
	cr_assert_str_eq(ui_form_field(&m.form, PROFILE_KEY_PORT)->text, "25");
	cr_assert(ui_smtp_dirty(&m));
	focus(&m.form, UI_SMTP_TEST);
	ui_smtp_key(&m, UI_KEY_ENTER);
	r = pop(&m, UI_REQ_RUN_TEST);
	cr_assert_eq(r.profile->tls, PROFILE_TLS_NONE);
	cr_assert(m.report.active && m.report.running);
	ui_smtp_test_output(&m, "tls none\n", 9);
	ui_smtp_key(&m, UI_KEY_ESC);
	pop(&m, UI_REQ_CANCEL_TEST);
	ui_smtp_test_done(&m, "cancelled");
	cr_assert_str_eq(m.report.lines[1], "cancelled");
	ui_smtp_key(&m, UI_KEY_ESC);
	cr_assert_not(m.report.active);
	/* Cancel drops the changes and closes */
	focus(&m.form, UI_SMTP_CANCEL);
	ui_smtp_key(&m, UI_KEY_ENTER);
	pop(&m, UI_REQ_CLOSE);
	cr_assert_not(ui_smtp_dirty(&m));
	ui_smtp_close(&m);
}

/* F10 in the middle of typing names the profile whose changes would go. */
Test(smtp, f10_during_an_edit_names_the_profile)
{
	struct ui_smtp m;

	open_two(&m);
	focus(&m.form, PROFILE_KEY_COMMENT);
	type(smtp_key, &m, "half-typed");
	ui_smtp_key(&m, UI_KEY_F10);
	cr_assert(m.prompt.active);
	cr_assert_eq(m.prompt.kind, UI_SMTP_PROMPT_UNSAVED);
	cr_assert_str_eq(m.prompt.text, "Profile 'a' has unsaved changes.");
	ui_smtp_key(&m, UI_KEY_ESC);	/* Cancel: the typing is still there */
	cr_assert_str_eq(ui_form_field(&m.form, PROFILE_KEY_COMMENT)->text,
	    "half-typed");
	ui_smtp_key(&m, 'd');		/* not an answer: typed */
	ui_smtp_close(&m);

	/* A change of the global settings only: not the profile's. */
	open_two(&m);
	focus(&m.form, UI_SMTP_SETTINGS + SETTINGS_KEY_SUBJECT_PARAMS);
	ui_smtp_key(&m, ' ');
	ui_smtp_key(&m, UI_KEY_F10);
	cr_assert(m.prompt.active);
	cr_assert_str_eq(m.prompt.text, "There are unsaved changes.");
	ui_smtp_close(&m);
}

/* Changes made in Advanced are never dropped without asking. */
Test(smtp, advanced_changes_are_not_dropped_silently)
{
	struct ui_smtp m;
	struct ui_request r;

	open_two(&m);
	focus(&m.form, UI_SMTP_ADVANCED);
	ui_smtp_key(&m, UI_KEY_ENTER);
	ui_smtp_key(&m, ' ');			/* untick Use SSL/TLS */
	ui_smtp_key(&m, UI_KEY_ESC);
	cr_assert(m.prompt.active);
	cr_assert_eq(m.prompt.kind, UI_SMTP_PROMPT_ADVANCED);
	ui_smtp_key(&m, UI_KEY_ESC);		/* Keep editing */
	cr_assert(m.adv.active);
	cr_assert_not(m.prompt.active);
	cr_assert_eq(m.adv.p->tls, PROFILE_TLS_NONE);
	/* F10 asks too; Keep editing neither quits nor closes. */
	ui_smtp_key(&m, UI_KEY_F10);
	cr_assert_eq(m.prompt.kind, UI_SMTP_PROMPT_ADVANCED);
	ui_smtp_key(&m, 'k');
	cr_assert(m.adv.active);
	no_request(&m);
	/* Discard under F10: the dialog closes, then the quit goes on. */
	ui_smtp_key(&m, UI_KEY_F10);
	ui_smtp_key(&m, 'd');
	cr_assert_not(m.adv.active);
	r = pop(&m, UI_REQ_QUIT);
	(void)r;
	cr_assert_not(ui_smtp_dirty(&m));
	ui_smtp_close(&m);
}

/*
 * The terminal too small to show the screen: keys for the hidden form
 * change nothing; F10 asks as at full size, and the question answers.
 */
Test(smtp, hidden_screen_takes_only_f10_and_the_answers)
{
	static const int ignored[] = { 'x', UI_KEY_ESC, UI_KEY_TAB,
	    UI_KEY_BTAB, UI_KEY_ENTER, UI_KEY_DOWN, UI_KEY_BACKSPACE,
	    UI_KEY_DELETE, UI_KEY_INSERT, UI_KEY_F1, ' ' };
	struct ui_smtp m;
	struct ui_request r;

	open_two(&m);
	focus(&m.form, PROFILE_KEY_COMMENT);
	type(smtp_key, &m, "kept");
	for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
		cr_assert_not(ui_smtp_key_hidden(&m, ignored[i]),
		    "key %#x acted", ignored[i]);
	cr_assert_str_eq(ui_form_field(&m.form, PROFILE_KEY_COMMENT)->text,
	    "kept");
	cr_assert_eq(ui_form_focus_id(&m.form), PROFILE_KEY_COMMENT);
	cr_assert_not(m.prompt.active);
	no_request(&m);
	cr_assert(ui_smtp_key_hidden(&m, UI_KEY_RESIZE));
	/* F10 asks; the answers act; Cancel keeps the typing. */
	cr_assert(ui_smtp_key_hidden(&m, UI_KEY_F10));
	cr_assert(m.prompt.active);
	cr_assert_eq(m.prompt.kind, UI_SMTP_PROMPT_UNSAVED);
	cr_assert(ui_smtp_key_hidden(&m, UI_KEY_RIGHT));
	cr_assert_eq(m.prompt.sel, 1);
	cr_assert(ui_smtp_key_hidden(&m, 'c'));
	cr_assert_not(m.prompt.active);
	no_request(&m);
	cr_assert_str_eq(ui_form_field(&m.form, PROFILE_KEY_COMMENT)->text,
	    "kept");
	/* Save, then the quit goes on. */
	ui_smtp_key_hidden(&m, UI_KEY_F10);
	ui_smtp_key_hidden(&m, 's');
	r = pop(&m, UI_REQ_SAVE);
	cr_assert_str_eq(r.profile->comment, "kept");
	ui_smtp_saved(&m, UI_RESULT_OK, 4, NULL);
	pop(&m, UI_REQ_QUIT);
	/* Nothing unsaved: F10 quits at once. */
	ui_smtp_key_hidden(&m, UI_KEY_F10);
	cr_assert_not(m.prompt.active);
	pop(&m, UI_REQ_QUIT);
	ui_smtp_close(&m);
}

/* F10 quits from the Test report too, asking first like everywhere. */
Test(smtp, f10_from_the_test_report)
{
	struct ui_smtp m;

	open_two(&m);
	focus(&m.form, PROFILE_KEY_COMMENT);
	type(smtp_key, &m, "c");
	focus(&m.form, UI_SMTP_TEST);
	ui_smtp_key(&m, UI_KEY_ENTER);
	pop(&m, UI_REQ_RUN_TEST);
	cr_assert(m.report.running);
	cr_assert_not_null(strstr(ui_smtp_keys_help(&m), "F10 quit"));
	ui_smtp_key(&m, UI_KEY_F10);
	cr_assert_eq(m.prompt.kind, UI_SMTP_PROMPT_UNSAVED);
	ui_smtp_key(&m, UI_KEY_ESC);		/* Cancel: the report stays */
	cr_assert(m.report.active);
	no_request(&m);
	ui_smtp_key(&m, UI_KEY_F10);
	ui_smtp_key(&m, 'd');
	pop(&m, UI_REQ_QUIT);
	ui_smtp_close(&m);
}
