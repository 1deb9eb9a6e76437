/*
 * core/ui_smtp.c: the SMTP screen's model (see ui_smtp.h).  It decides
 * what a key means on this screen and what the store must do; it draws
 * nothing and reads nothing.
 */
#include "core/ui_smtp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "core/ui_fields.h"
#include "core/ui_key.h"
#include "core/xmalloc.h"

static const char *const unsaved_answers[] = { "Save", "Discard", "Cancel" };
static const char *const delete_answers[] = { "Delete", "Cancel" };
static const char *const stale_answers[] = { "Reload", "Keep editing" };
static const char *const ok_answers[] = { "OK" };
static const char *const discard_answers[] = { "Discard", "Keep editing" };

/* The profile fields of the screen, in focus order. */
static const struct {
	enum profile_key	 key;
	const char		*label;
	enum ui_field_type	 type;
} profile_fields[] = {
	{ PROFILE_KEY_NAME, "Name", UI_FIELD_TEXT },
	{ PROFILE_KEY_ACTIVE, "Active", UI_FIELD_CHECK },
	{ PROFILE_KEY_HOST, "Host", UI_FIELD_TEXT },
	{ PROFILE_KEY_PORT, "Port", UI_FIELD_NUMBER },
	{ PROFILE_KEY_ALT_HOSTS, "Alt hosts", UI_FIELD_TEXT },
	{ PROFILE_KEY_FROM, "From", UI_FIELD_TEXT },
	{ PROFILE_KEY_TO, "To", UI_FIELD_TEXT },
	{ PROFILE_KEY_HELO, "EHLO name", UI_FIELD_TEXT },
	{ PROFILE_KEY_COMMENT, "Comment", UI_FIELD_TEXT },
};
#define NPROFILE_FIELDS (sizeof profile_fields / sizeof profile_fields[0])

static const char *const settings_help[SETTINGS_KEY_COUNT] = {
	"enabled: whether gwengine sends at all (Activate/Deactivate)",
	"default_profile: the profile used when a transfer names none; "
	    "empty for none",
	"subject_params: add the gateway parameters to the subject",
	"subject_delimiter: the text between the subject and the parameters "
	    "(default //XFB)",
};

static void
message(struct ui_smtp *m, bool error, const char *text)
{
	free(m->message);
	m->message = text ? xstrdup(text) : NULL;
	m->message_error = error;
}

static void
queue(struct ui_smtp *m, enum ui_request_type type, const char *name)
{
	struct ui_request *r;

	if (m->nreq == UI_SMTP_REQ_MAX)
		return;		/* cannot happen: at most two are queued */
	r = &m->req[m->nreq++];
	memset(r, 0, sizeof *r);
	r->type = type;
	if (name != NULL)
		snprintf(r->name, sizeof r->name, "%s", name);
}

bool
ui_smtp_request(struct ui_smtp *m, struct ui_request *out)
{
	if (m->nreq == 0)
		return false;
	*out = m->req[0];
	memmove(&m->req[0], &m->req[1], --m->nreq * sizeof m->req[0]);
	return true;
}

static void
queue_names(struct ui_smtp *m)
{
	size_t off = m->sel > UI_SMTP_NAMES_WINDOW / 2 ?
	    m->sel - UI_SMTP_NAMES_WINDOW / 2 : 0;

	queue(m, UI_REQ_LOAD_NAMES, NULL);
	m->req[m->nreq - 1].offset = off;
	m->req[m->nreq - 1].limit = UI_SMTP_NAMES_WINDOW;
}

/* Form hooks */

static int
leave(void *arg, struct ui_form *f, size_t i, char **cause)
{
	struct ui_smtp *m = arg;
	int id = f->fields[i].id;

	if (id >= UI_SMTP_SETTINGS && id < UI_SMTP_SETTINGS + SETTINGS_KEY_COUNT)
		return ui_fields_settings_set(&m->set_work,
		    (enum settings_key)(id - UI_SMTP_SETTINGS),
		    f->fields[i].text, cause);
	if (m->work == NULL)
		return 0;
	return ui_fields_set(m->work, id, f->fields[i].text, cause);
}

static void
changed(void *arg, struct ui_form *f, size_t i)
{
	struct ui_smtp *m = arg;
	const struct ui_field *fl = &f->fields[i];
	const char *v = fl->checked ? "true" : "false";
	char *cause = NULL;
	int rc;

	if (fl->id >= UI_SMTP_SETTINGS && fl->id < UI_SMTP_LIST)
		rc = ui_fields_settings_set(&m->set_work,
		    (enum settings_key)(fl->id - UI_SMTP_SETTINGS), v, &cause);
	else if (m->work != NULL)
		rc = ui_fields_set(m->work, fl->id, v, &cause);
	else
		rc = 0;
	if (rc != 0)
		free(cause);	/* booleans always take true/false */
}

/* Fields from the models */

static void
load_profile_fields(struct ui_smtp *m)
{
	struct ui_form *f = &m->form;
	bool have = m->work != NULL;

	for (size_t k = 0; k < NPROFILE_FIELDS; k++) {
		size_t i = ui_form_find(f, (int)profile_fields[k].key);
		struct ui_field *fl = &f->fields[i];

		ui_form_set_error(f, i, NULL);
		if (fl->type == UI_FIELD_CHECK)
			fl->checked = have && m->work->active;
		else {
			char *v = have ? profile_get(m->work,
			    profile_fields[k].key) : NULL;

			ui_form_set_text(f, i, v);
			free(v);
		}
		ui_form_enable(f, i, have);
	}
	/* A stored profile's name is its identity: not renamed here. */
	ui_form_enable(f, ui_form_find(f, PROFILE_KEY_NAME),
	    have && m->orig == NULL);
	ui_form_enable(f, ui_form_find(f, UI_SMTP_ADVANCED), have);
	ui_form_enable(f, ui_form_find(f, UI_SMTP_TEST), have);
}

static void
load_settings_fields(struct ui_smtp *m)
{
	struct ui_form *f = &m->form;

	for (int k = 0; k < SETTINGS_KEY_COUNT; k++) {
		size_t i = ui_form_find(f, UI_SMTP_SETTINGS + k);
		char *v = settings_get(&m->set_work, (enum settings_key)k);

		ui_form_set_error(f, i, NULL);
		if (f->fields[i].type == UI_FIELD_CHECK)
			f->fields[i].checked = strcmp(v, "true") == 0;
		else
			ui_form_set_text(f, i, v);
		free(v);
	}
}

void
ui_smtp_open(struct ui_smtp *m, const struct smtp_settings *settings)
{
	struct ui_form_hooks hooks = { leave, changed, m };
	struct ui_form *f = &m->form;

	memset(m, 0, sizeof *m);
	settings_copy(&m->set_orig, settings);
	settings_copy(&m->set_work, settings);
	ui_form_init(f, &hooks);
	ui_form_add_check(f, UI_SMTP_SETTINGS + SETTINGS_KEY_ENABLED,
	    "Enabled", false);
	ui_form_add_text(f, UI_SMTP_SETTINGS + SETTINGS_KEY_DEFAULT_PROFILE,
	    "Default profile", UI_FIELD_TEXT, NULL);
	ui_form_add_check(f, UI_SMTP_SETTINGS + SETTINGS_KEY_SUBJECT_PARAMS,
	    "Add parameters to subject", false);
	ui_form_add_text(f, UI_SMTP_SETTINGS + SETTINGS_KEY_SUBJECT_DELIMITER,
	    "Delimiter", UI_FIELD_TEXT, NULL);
	ui_form_add_list(f, UI_SMTP_LIST, "Profiles");
	for (size_t k = 0; k < NPROFILE_FIELDS; k++) {
		if (profile_fields[k].type == UI_FIELD_CHECK)
			ui_form_add_check(f, (int)profile_fields[k].key,
			    profile_fields[k].label, false);
		else
			ui_form_add_text(f, (int)profile_fields[k].key,
			    profile_fields[k].label, profile_fields[k].type,
			    NULL);
	}
	ui_form_add_button(f, UI_SMTP_ADVANCED, "Advanced...");
	ui_form_add_button(f, UI_SMTP_TEST, "Test");
	ui_form_add_button(f, UI_SMTP_SAVE, "Save");
	ui_form_add_button(f, UI_SMTP_CANCEL, "Cancel");
	load_settings_fields(m);
	load_profile_fields(m);
	f->focus = ui_form_find(f, UI_SMTP_LIST);
	queue_names(m);
}

static void
free_names(struct ui_smtp *m)
{
	for (size_t i = 0; i < m->names_n; i++)
		free(m->names[i]);
	free(m->names);
	m->names = NULL;
	m->names_n = 0;
}

void
ui_smtp_close(struct ui_smtp *m)
{
	ui_form_clear(&m->form);
	settings_clear(&m->set_orig);
	settings_clear(&m->set_work);
	free_names(m);
	profile_free(m->orig);
	profile_free(m->work);
	ui_advanced_close(&m->adv);
	ui_report_clear(&m->report);
	ui_prompt_close(&m->prompt);
	free(m->message);
	memset(m, 0, sizeof *m);
}

/* State questions */

static bool
profile_dirty(const struct ui_smtp *m)
{
	bool changed[PROFILE_KEY_COUNT];

	if (m->work == NULL)
		return false;
	return m->orig == NULL || profile_diff(m->orig, m->work, changed) > 0;
}

static bool
settings_dirty(const struct ui_smtp *m)
{
	bool changed[SETTINGS_KEY_COUNT];

	return settings_diff(&m->set_orig, &m->set_work, changed) > 0;
}

bool
ui_smtp_dirty(const struct ui_smtp *m)
{
	for (size_t i = 0; i < m->form.n; i++)
		if (m->form.fields[i].edited)
			return true;
	return profile_dirty(m) || settings_dirty(m);
}

const char *
ui_smtp_name_at(const struct ui_smtp *m, size_t index)
{
	if (index < m->names_off || index >= m->names_off + m->names_n)
		return NULL;
	return m->names[index - m->names_off];
}

/* Actions */

static void
new_profile(struct ui_smtp *m)
{
	profile_free(m->orig);
	profile_free(m->work);
	m->orig = NULL;
	m->work = profile_new(NULL);
	load_profile_fields(m);
	m->form.focus = ui_form_find(&m->form, PROFILE_KEY_NAME);
	message(m, false, "New profile: give it a name and a host, then Save.");
}

static void
revert(struct ui_smtp *m)
{
	settings_clear(&m->set_work);
	settings_copy(&m->set_work, &m->set_orig);
	profile_free(m->work);
	m->work = m->orig ? profile_dup(m->orig) : NULL;
	load_settings_fields(m);
	load_profile_fields(m);
}

static void
run_pending(struct ui_smtp *m)
{
	enum ui_request_type p = m->pending;

	m->pending = UI_REQ_NONE;
	if (m->pending_new) {
		m->pending_new = false;
		new_profile(m);
	} else if (p == UI_REQ_LOAD_PROFILE) {
		m->focus_on_load = true;
		queue(m, p, m->pending_name);
	} else if (p != UI_REQ_NONE)
		queue(m, p, NULL);
}

/* A profile field is being edited (typed in, not yet kept). */
static bool
profile_edited(const struct ui_smtp *m)
{
	for (size_t i = 0; i < m->form.n; i++)
		if (m->form.fields[i].edited && m->form.fields[i].id >= 0 &&
		    m->form.fields[i].id < PROFILE_KEY_COUNT)
			return true;
	return false;
}

/* Asks before what would drop unsaved changes; else does it. */
static void
guard(struct ui_smtp *m, enum ui_request_type then, const char *name,
    bool new)
{
	char *q;

	m->pending = then;
	m->pending_new = new;
	snprintf(m->pending_name, sizeof m->pending_name, "%s",
	    name ? name : "");
	if (!ui_smtp_dirty(m)) {
		run_pending(m);
		return;
	}
	if (m->work != NULL && m->work->name != NULL && (profile_dirty(m) ||
	    profile_edited(m)))
		q = xasprintf("Profile '%s' has unsaved changes.",
		    m->work->name);
	else
		q = xstrdup("There are unsaved changes.");
	ui_prompt_open(&m->prompt, UI_SMTP_PROMPT_UNSAVED, q,
	    unsaved_answers, 3);
	free(q);
}

/* Focuses the field of a profile key (the main form's or Advanced's). */
static void
show_error(struct ui_smtp *m, const char *key, const char *msg)
{
	enum profile_key k;
	size_t i;

	if (key == NULL || profile_key_lookup(key, &k) != 0)
		return;
	i = ui_form_find(&m->form, (int)k);
	if (i != (size_t)-1 && m->form.fields[i].enabled) {
		ui_form_set_error(&m->form, i, msg);
		m->form.focus = i;
	}
}

/*
 * The whole profile against the rules (profile_validate()).  On errors
 * shows them all, in gwadmin set's words, and returns -1.
 */
static int
validate(struct ui_smtp *m, const char *what)
{
	struct diag_list errs = { 0 };
	char *all, *line, *t;

	if (ui_form_commit(&m->form) != 0) {
		message(m, true, m->form.fields[m->form.focus].error);
		return -1;
	}
	if (m->work == NULL || profile_validate(m->work, &errs) == 0)
		return 0;
	all = xasprintf("%s refused:", what);
	for (size_t i = 0; i < errs.n; i++) {
		line = diag_format(&errs.v[i], NULL);
		t = xasprintf("%s\n%s", all, line);
		free(all);
		all = t;
		if (i == 0) {
			char *msg = ui_fields_message(errs.v[i].key ?
			    errs.v[i].key : "profile", errs.v[i].reason);

			show_error(m, errs.v[i].key, msg);
			message(m, true, line);
			free(msg);
		}
		free(line);
	}
	ui_prompt_open(&m->prompt, UI_SMTP_PROMPT_MESSAGE, all, ok_answers, 1);
	free(all);
	diag_list_clear(&errs);
	return -1;
}

static void
save(struct ui_smtp *m)
{
	struct ui_request *r;
	bool p, s;

	if (validate(m, "Save") != 0) {
		m->pending = UI_REQ_NONE;
		m->pending_new = false;
		return;
	}
	p = profile_dirty(m);
	s = settings_dirty(m);
	if (!p && !s) {
		message(m, false, "Nothing to save.");
		run_pending(m);
		return;
	}
	queue(m, UI_REQ_SAVE, p ? m->work->name : NULL);
	r = &m->req[m->nreq - 1];
	r->profile = p ? m->work : NULL;
	r->settings = s ? &m->set_work : NULL;
}

static void
test(struct ui_smtp *m)
{
	char *title;

	if (m->work == NULL || validate(m, "Test") != 0)
		return;
	title = xasprintf("Test of profile '%s' (settings on screen)",
	    m->work->name);
	ui_report_open(&m->report, title);
	free(title);
	queue(m, UI_REQ_RUN_TEST, m->work->name);
	m->req[m->nreq - 1].profile = m->work;
}

static void
activate(struct ui_smtp *m, int id)
{
	switch (id) {
	case UI_SMTP_ADVANCED:
		if (m->work != NULL)
			ui_advanced_open(&m->adv, m->work);
		break;
	case UI_SMTP_TEST:
		test(m);
		break;
	case UI_SMTP_SAVE:
		save(m);
		break;
	case UI_SMTP_CANCEL:
		/* Cancel drops the changes and leaves, without asking. */
		revert(m);
		queue(m, UI_REQ_CLOSE, NULL);
		break;
	}
}

static void
answer(struct ui_smtp *m, int kind, int ans)
{
	switch (kind) {
	case UI_SMTP_PROMPT_UNSAVED:
		if (ans == 0)
			save(m);
		else if (ans == 1) {
			revert(m);
			run_pending(m);
		} else {
			m->pending = UI_REQ_NONE;
			m->pending_new = false;
		}
		break;
	case UI_SMTP_PROMPT_DELETE:
		if (ans == 0)
			queue(m, UI_REQ_DELETE_PROFILE, m->pending_name);
		break;
	case UI_SMTP_PROMPT_STALE:
		if (ans == 0 && m->orig != NULL)
			queue(m, UI_REQ_LOAD_PROFILE, m->orig->name);
		break;
	case UI_SMTP_PROMPT_ADVANCED:
		if (ans == 0) {
			ui_advanced_close(&m->adv);
			if (m->pending == UI_REQ_QUIT)
				guard(m, UI_REQ_QUIT, NULL, false);
		}
		if (m->pending == UI_REQ_QUIT && ans != 0)
			m->pending = UI_REQ_NONE;
		break;
	}
}

/* Esc or F10 in Advanced with changes: ask before they are dropped. */
static void
ask_advanced(struct ui_smtp *m, bool quit)
{
	m->pending = quit ? UI_REQ_QUIT : UI_REQ_NONE;
	ui_prompt_open(&m->prompt, UI_SMTP_PROMPT_ADVANCED, "The Advanced "
	    "settings have changes that are not applied (OK applies them).",
	    discard_answers, 2);
}

static bool
list_key(struct ui_smtp *m, int key)
{
	size_t old = m->sel;
	const char *name = ui_smtp_name_at(m, m->sel);
	char *q;

	switch (key) {
	case UI_KEY_UP:
		if (m->sel > 0)
			m->sel--;
		break;
	case UI_KEY_DOWN:
		if (m->sel + 1 < m->total)
			m->sel++;
		break;
	case UI_KEY_PGUP:
		m->sel = m->sel > 10 ? m->sel - 10 : 0;
		break;
	case UI_KEY_PGDN:
		if (m->total > 0)
			m->sel = m->sel + 10 < m->total ? m->sel + 10 :
			    m->total - 1;
		break;
	case UI_KEY_HOME:
		m->sel = 0;
		break;
	case UI_KEY_END:
		m->sel = m->total ? m->total - 1 : 0;
		break;
	case UI_KEY_ENTER:
		if (name == NULL)
			return true;
		if (m->orig != NULL && strcmp(m->orig->name, name) == 0) {
			m->form.focus = ui_form_find(&m->form,
			    PROFILE_KEY_HOST);
			return true;
		}
		guard(m, UI_REQ_LOAD_PROFILE, name, false);
		return true;
	case UI_KEY_INSERT:
	case '+':
		guard(m, UI_REQ_NONE, NULL, true);
		return true;
	case UI_KEY_DELETE:
	case '-':
		if (name == NULL)
			return true;
		snprintf(m->pending_name, sizeof m->pending_name, "%s", name);
		q = xasprintf("Delete profile '%s'? gwengine will no longer "
		    "send through it.", name);
		ui_prompt_open(&m->prompt, UI_SMTP_PROMPT_DELETE, q,
		    delete_answers, 2);
		free(q);
		return true;
	default:
		return false;
	}
	if (m->sel != old && ui_smtp_name_at(m, m->sel) == NULL)
		queue_names(m);
	return true;
}

bool
ui_smtp_key(struct ui_smtp *m, int key)
{
	enum ui_form_result r;
	int ans;

	if (key == UI_KEY_RESIZE)
		return true;
	if (m->prompt.active) {
		int kind = m->prompt.kind;

		if ((ans = ui_prompt_key(&m->prompt, key)) >= 0)
			answer(m, kind, ans);
		return true;
	}
	if (m->report.active) {
		if (key == UI_KEY_F10)
			guard(m, UI_REQ_QUIT, NULL, false);
		else if (key == UI_KEY_ESC && m->report.running)
			queue(m, UI_REQ_CANCEL_TEST, NULL);
		else if (key == UI_KEY_ESC || key == UI_KEY_ENTER)
			ui_report_clear(&m->report);
		else
			ui_report_key(&m->report, key);
		return true;
	}
	message(m, false, NULL);
	if (key == UI_KEY_F1) {
		char *h = ui_smtp_field_help(m);

		ui_prompt_open(&m->prompt, UI_SMTP_PROMPT_HELP, h, ok_answers,
		    1);
		free(h);
		return true;
	}
	if (m->adv.active) {
		switch (ui_advanced_key(&m->adv, key)) {
		case UI_ADV_DONE_OK:
			profile_free(m->work);
			m->work = ui_advanced_take(&m->adv);
			load_profile_fields(m);
			break;
		case UI_ADV_ASK_DISCARD:
			ask_advanced(m, false);
			break;
		case UI_ADV_IGNORED:
			if (key != UI_KEY_F10)
				break;
			if (m->adv.form.dirty)
				ask_advanced(m, true);
			else {
				ui_advanced_close(&m->adv);
				guard(m, UI_REQ_QUIT, NULL, false);
			}
			break;
		default:
			break;
		}
		return true;
	}
	if (key == UI_KEY_F10 || key == UI_KEY_ESC) {
		guard(m, key == UI_KEY_ESC ? UI_REQ_CLOSE : UI_REQ_QUIT, NULL,
		    false);
		return true;
	}
	if (ui_form_focus_id(&m->form) == UI_SMTP_LIST && list_key(m, key))
		return true;
	r = ui_form_key(&m->form, key);
	if (r == UI_FORM_ACTIVATED)
		activate(m, ui_form_focus_id(&m->form));
	else if (r == UI_FORM_REFUSED)
		message(m, true, m->form.fields[m->form.focus].error);
	return r != UI_FORM_IGNORED;
}

bool
ui_smtp_key_hidden(struct ui_smtp *m, int key)
{
	if (!ui_key_acts_hidden(key, m->prompt.active))
		return false;
	return ui_smtp_key(m, key);
}

/* Results */

void
ui_smtp_names_loaded(struct ui_smtp *m, size_t offset,
    const char *const *names, size_t n, size_t total)
{
	free_names(m);
	m->names = xcalloc(n ? n : 1, sizeof *m->names);
	for (size_t i = 0; i < n; i++)
		m->names[i] = xstrdup(names[i]);
	m->names_off = offset;
	m->names_n = n;
	m->total = total;
	if (m->sel >= total)
		m->sel = total ? total - 1 : 0;
	if (m->work == NULL && ui_smtp_name_at(m, m->sel) != NULL)
		queue(m, UI_REQ_LOAD_PROFILE, ui_smtp_name_at(m, m->sel));
}

void
ui_smtp_profile_loaded(struct ui_smtp *m, enum ui_result r, struct profile *p,
    const char *cause)
{
	bool focus = m->focus_on_load;
	char *msg;

	m->focus_on_load = false;
	if (r != UI_RESULT_OK) {
		msg = xasprintf("Cannot load the profile: %s",
		    cause ? cause : "no such profile");
		message(m, true, msg);
		free(msg);
		profile_free(p);
		if (r == UI_RESULT_NOT_FOUND)
			queue_names(m);
		return;
	}
	profile_free(m->orig);
	profile_free(m->work);
	m->orig = p;
	m->work = profile_dup(p);
	load_profile_fields(m);
	if (focus)
		m->form.focus = ui_form_find(&m->form, PROFILE_KEY_HOST);
}

void
ui_smtp_saved(struct ui_smtp *m, enum ui_result r, long long revision,
    const char *cause)
{
	bool was_new;
	char *msg;

	if (r == UI_RESULT_STALE) {
		m->pending = UI_REQ_NONE;
		m->pending_new = false;
		msg = xasprintf("Not saved: profile '%s' was changed by another "
		    "program since it was opened.  Reload it (your changes "
		    "are lost) or keep editing?", m->work ? m->work->name : "");
		ui_prompt_open(&m->prompt, UI_SMTP_PROMPT_STALE, msg,
		    stale_answers, 2);
		free(msg);
		return;
	}
	if (r != UI_RESULT_OK) {
		m->pending = UI_REQ_NONE;
		m->pending_new = false;
		msg = xasprintf("Not saved: %s", cause ? cause :
		    "database error");
		message(m, true, msg);
		ui_prompt_open(&m->prompt, UI_SMTP_PROMPT_MESSAGE, msg,
		    ok_answers, 1);
		free(msg);
		return;
	}
	was_new = m->work != NULL && m->orig == NULL;
	if (profile_dirty(m)) {
		m->work->revision = revision;
		profile_free(m->orig);
		m->orig = profile_dup(m->work);
	}
	settings_clear(&m->set_orig);
	settings_copy(&m->set_orig, &m->set_work);
	load_profile_fields(m);
	if (m->work != NULL) {
		msg = xasprintf("Saved profile '%s'.", m->work->name);
		message(m, false, msg);
		free(msg);
	} else
		message(m, false, "Saved the settings.");
	if (was_new)
		queue_names(m);
	run_pending(m);
}

void
ui_smtp_deleted(struct ui_smtp *m, enum ui_result r, const char *cause)
{
	char *msg;

	if (r != UI_RESULT_OK) {
		msg = xasprintf("Not deleted: %s", cause ? cause :
		    "no such profile");
		message(m, true, msg);
		free(msg);
		queue_names(m);
		return;
	}
	if (m->orig != NULL && strcmp(m->orig->name, m->pending_name) == 0) {
		profile_free(m->orig);
		profile_free(m->work);
		m->orig = m->work = NULL;
		load_profile_fields(m);
	}
	/* The store clears a default_profile naming it: so do we. */
	if (m->set_orig.default_profile != NULL &&
	    strcmp(m->set_orig.default_profile, m->pending_name) == 0) {
		char *cause2 = NULL;

		if (settings_set(&m->set_orig, SETTINGS_KEY_DEFAULT_PROFILE,
		    "", &cause2) != 0)
			free(cause2);
		if (settings_set(&m->set_work, SETTINGS_KEY_DEFAULT_PROFILE,
		    "", &cause2) != 0)
			free(cause2);
		load_settings_fields(m);
	}
	msg = xasprintf("Deleted profile '%s'.", m->pending_name);
	message(m, false, msg);
	free(msg);
	if (m->total > 0)
		m->total--;
	free_names(m);
	queue_names(m);
}

void
ui_smtp_test_output(struct ui_smtp *m, const char *buf, size_t len)
{
	ui_report_append(&m->report, buf, len);
}

void
ui_smtp_test_done(struct ui_smtp *m, const char *line)
{
	ui_report_finish(&m->report, line);
}

/* Help */

const char *
ui_smtp_keys_help(const struct ui_smtp *m)
{
	const struct ui_form *f = m->adv.active ? &m->adv.form : &m->form;
	const struct ui_field *fl = &f->fields[f->focus];

	if (m->prompt.active)
		return "Left/Right choose  Enter answer  Esc cancel";
	if (m->report.active)
		return m->report.running ?
		    "Up/Down scroll  Esc cancel the test  F10 quit" :
		    "Up/Down/PgUp/PgDn scroll  Esc close  F10 quit";
	switch (fl->type) {
	case UI_FIELD_LIST:
		return "Up/Down select  Enter edit  Ins add  Del delete  "
		    "Tab next  F1 help  Esc back  F10 quit";
	case UI_FIELD_CHECK:
		return "Space toggle  Tab/Up/Down move  F1 help  Esc back  "
		    "F10 quit";
	case UI_FIELD_RADIO:
		return "Left/Right choose  Space pick  Tab/Up/Down move  "
		    "F1 help  Esc back";
	case UI_FIELD_BUTTON:
		return "Enter activate  Tab/Left/Right move  F1 help  Esc back  "
		    "F10 quit";
	default:
		return "Type to edit  Enter/Tab next  Shift-Tab back  F1 help  "
		    "Esc back  F10 quit";
	}
}

char *
ui_smtp_field_help(const struct ui_smtp *m)
{
	const struct ui_form *f = m->adv.active ? &m->adv.form : &m->form;
	int id = ui_form_focus_id(f);

	if (m->adv.active) {
		int key = ui_advanced_field_key(id);

		if (key >= 0)
			return xasprintf("%s: %s",
			    profile_key_name((enum profile_key)key),
			    profile_key_help((enum profile_key)key));
		return xstrdup(id == UI_ADV_OK ? "OK: keep these values (Save "
		    "on the SMTP screen writes them)" :
		    "Cancel: close without keeping the changes");
	}
	if (id >= UI_SMTP_SETTINGS && id < UI_SMTP_SETTINGS + SETTINGS_KEY_COUNT)
		return xstrdup(settings_help[id - UI_SMTP_SETTINGS]);
	if (id >= 0 && id < PROFILE_KEY_COUNT)
		return xasprintf("%s: %s", profile_key_name((enum profile_key)id),
		    profile_key_help((enum profile_key)id));
	switch (id) {
	case UI_SMTP_LIST:
		return xstrdup("Profiles: the SMTP servers gwengine sends "
		    "through.  Enter edits, Ins adds, Del deletes.");
	case UI_SMTP_ADVANCED:
		return xstrdup("Advanced...: TLS, authentication, timeouts and "
		    "retries of this profile");
	case UI_SMTP_TEST:
		return xstrdup("Test: connect with the settings on screen "
		    "(saved or not) and report TLS, certificate and AUTH");
	case UI_SMTP_SAVE:
		return xstrdup("Save: write the settings and this profile to "
		    "the store, in one transaction");
	default:
		return xstrdup("Cancel: drop unsaved changes and go back to "
		    "the menu");
	}
}
