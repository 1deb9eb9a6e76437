/*
 * core/ui_advanced.c: see ui_advanced.h.
 */
#include "core/ui_advanced.h"

#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "core/ui_fields.h"
#include "core/ui_key.h"
#include "core/xmalloc.h"

static const char *const mode_options[] = { "Implicit", "Explicit" };
static const char *const starttls_options[] = { "Mandatory", "Optional" };
static const char *const tls_min_options[] = { "1.2", "1.3" };
static const char *const auth_options[] = { "None", "PLAIN", "LOGIN",
    "ANONYMOUS" };

static void
apply_rules(struct ui_advanced *a)
{
	struct ui_form *f = &a->form;
	const struct profile *p = a->p;
	bool tls = p->tls != PROFILE_TLS_NONE;
	bool pwd = p->auth == PROFILE_AUTH_PLAIN ||
	    p->auth == PROFILE_AUTH_LOGIN;

	ui_form_enable(f, ui_form_find(f, UI_ADV_MODE), tls);
	ui_form_enable(f, ui_form_find(f, PROFILE_KEY_STARTTLS),
	    p->tls == PROFILE_TLS_EXPLICIT);
	ui_form_enable(f, ui_form_find(f, PROFILE_KEY_VERIFY), tls);
	ui_form_enable(f, ui_form_find(f, PROFILE_KEY_CA_FILE), tls);
	ui_form_enable(f, ui_form_find(f, PROFILE_KEY_FINGERPRINT), tls);
	ui_form_enable(f, ui_form_find(f, PROFILE_KEY_TLS_MIN), tls);
	ui_form_enable(f, ui_form_find(f, PROFILE_KEY_USERNAME), pwd);
	ui_form_enable(f, ui_form_find(f, PROFILE_KEY_PASSWORD), pwd);
	ui_form_enable(f, ui_form_find(f, PROFILE_KEY_TRACE),
	    p->auth == PROFILE_AUTH_ANONYMOUS);
	ui_form_enable(f, ui_form_find(f,
	    PROFILE_KEY_ALLOW_PLAIN_AUTH_WITHOUT_TLS), pwd && !tls);
}

static int
leave(void *arg, struct ui_form *f, size_t i, char **cause)
{
	struct ui_advanced *a = arg;

	return ui_fields_set(a->p, f->fields[i].id, f->fields[i].text, cause);
}

static void
changed(void *arg, struct ui_form *f, size_t i)
{
	struct ui_advanced *a = arg;
	struct ui_field *fl = &f->fields[i];
	enum profile_tls old = a->p->tls;
	char *cause = NULL;

	switch (fl->id) {
	case UI_ADV_USE_TLS:
	case UI_ADV_MODE: {
		struct ui_field *use = ui_form_field(f, UI_ADV_USE_TLS);
		struct ui_field *mode = ui_form_field(f, UI_ADV_MODE);
		enum profile_tls t = !use->checked ? PROFILE_TLS_NONE :
		    mode->choice == 1 ? PROFILE_TLS_EXPLICIT :
		    PROFILE_TLS_IMPLICIT;

		a->p->tls = t;
		profile_tls_changed(a->p, old);
		break;
	}
	case PROFILE_KEY_STARTTLS:
		a->p->starttls = fl->choice == 1 ? PROFILE_STARTTLS_OPTIONAL :
		    PROFILE_STARTTLS_MANDATORY;
		break;
	case PROFILE_KEY_TLS_MIN:
		a->p->tls_min = fl->choice == 1 ? PROFILE_TLS_MIN_1_3 :
		    PROFILE_TLS_MIN_1_2;
		break;
	case PROFILE_KEY_AUTH:
		a->p->auth = (enum profile_auth)fl->choice;
		break;
	default:
		/* checkboxes holding one boolean key */
		if (ui_fields_set(a->p, fl->id, fl->checked ? "true" : "false",
		    &cause) != 0)
			free(cause);
		break;
	}
	apply_rules(a);
}

static size_t
text(struct ui_advanced *a, enum profile_key key, const char *label,
    enum ui_field_type type)
{
	char *v = profile_get(a->p, key);
	size_t i = ui_form_add_text(&a->form, (int)key, label, type, v);

	if (key == PROFILE_KEY_PASSWORD)
		free_secret(v);
	else
		free(v);
	return i;
}

void
ui_advanced_open(struct ui_advanced *a, const struct profile *p)
{
	struct ui_form_hooks hooks = { leave, changed, a };
	struct ui_form *f = &a->form;

	ui_advanced_close(a);
	a->active = true;
	a->p = profile_dup(p);
	ui_form_init(f, &hooks);
	ui_form_add_check(f, UI_ADV_USE_TLS, "Use SSL/TLS",
	    p->tls != PROFILE_TLS_NONE);
	ui_form_add_radio(f, UI_ADV_MODE, "Mode", mode_options, 2,
	    p->tls == PROFILE_TLS_EXPLICIT ? 1 : 0);
	ui_form_add_radio(f, PROFILE_KEY_STARTTLS, "STARTTLS",
	    starttls_options, 2, p->starttls == PROFILE_STARTTLS_OPTIONAL);
	ui_form_add_check(f, PROFILE_KEY_VERIFY, "Verify certificate",
	    p->verify);
	text(a, PROFILE_KEY_CA_FILE, "CA file", UI_FIELD_TEXT);
	text(a, PROFILE_KEY_FINGERPRINT, "Fingerprint", UI_FIELD_TEXT);
	ui_form_add_radio(f, PROFILE_KEY_TLS_MIN, "Minimum TLS",
	    tls_min_options, 2, p->tls_min == PROFILE_TLS_MIN_1_3);
	ui_form_add_radio(f, PROFILE_KEY_AUTH, "Authentication", auth_options,
	    4, (size_t)p->auth);
	text(a, PROFILE_KEY_USERNAME, "Login", UI_FIELD_TEXT);
	text(a, PROFILE_KEY_PASSWORD, "Password", UI_FIELD_SECRET);
	text(a, PROFILE_KEY_TRACE, "Trace", UI_FIELD_TEXT);
	ui_form_add_check(f, PROFILE_KEY_ALLOW_PLAIN_AUTH_WITHOUT_TLS,
	    "Allow PLAIN/LOGIN without TLS", p->allow_plain_auth_without_tls);
	text(a, PROFILE_KEY_TIMEOUT, "Timeout (s)", UI_FIELD_NUMBER);
	text(a, PROFILE_KEY_RETRIES, "Retries", UI_FIELD_NUMBER);
	text(a, PROFILE_KEY_RETRY_DELAY, "First delay (s)", UI_FIELD_NUMBER);
	text(a, PROFILE_KEY_RETRY_MAX, "Maximum delay (s)", UI_FIELD_NUMBER);
	text(a, PROFILE_KEY_MAX_CONNECTIONS, "Max connections",
	    UI_FIELD_NUMBER);
	ui_form_add_button(f, UI_ADV_OK, "OK");
	ui_form_add_button(f, UI_ADV_CANCEL, "Cancel");
	apply_rules(a);
	f->dirty = false;
}

void
ui_advanced_close(struct ui_advanced *a)
{
	if (a->active)
		ui_form_clear(&a->form);
	profile_free(a->p);
	free(a->message);
	memset(a, 0, sizeof *a);
}

struct profile *
ui_advanced_take(struct ui_advanced *a)
{
	struct profile *p = a->p;

	a->p = NULL;
	ui_advanced_close(a);
	return p;
}

int
ui_advanced_field_key(int id)
{
	if (id == UI_ADV_USE_TLS || id == UI_ADV_MODE)
		return PROFILE_KEY_TLS;
	if (id >= 0 && id < PROFILE_KEY_COUNT)
		return id;
	return -1;
}

/* OK: the rules between this dialog's keys. */
static enum ui_adv_result
ok(struct ui_advanced *a)
{
	struct diag_list errs = { 0 };
	enum ui_adv_result r = UI_ADV_DONE_OK;

	profile_validate(a->p, &errs);
	for (size_t i = 0; i < errs.n; i++) {
		enum profile_key key;
		size_t fi;

		if (errs.v[i].key == NULL ||
		    profile_key_lookup(errs.v[i].key, &key) != 0)
			continue;
		if (key == PROFILE_KEY_AUTH)
			fi = ui_form_find(&a->form, PROFILE_KEY_AUTH);
		else if ((fi = ui_form_find(&a->form, (int)key)) == (size_t)-1)
			continue;
		free(a->message);
		a->message = ui_fields_message(errs.v[i].key, errs.v[i].reason);
		ui_form_set_error(&a->form, fi, a->message);
		a->form.focus = fi;
		r = UI_ADV_CHANGED;
		break;
	}
	diag_list_clear(&errs);
	return r;
}

enum ui_adv_result
ui_advanced_key(struct ui_advanced *a, int key)
{
	enum ui_form_result r;

	if (!a->active)
		return UI_ADV_IGNORED;
	if (key == UI_KEY_ESC) {
		if (a->form.dirty)
			return UI_ADV_ASK_DISCARD;
		ui_advanced_close(a);
		return UI_ADV_DONE_CANCEL;
	}
	free(a->message);
	a->message = NULL;
	r = ui_form_key(&a->form, key);
	if (r == UI_FORM_ACTIVATED) {
		if (ui_form_focus_id(&a->form) == UI_ADV_CANCEL) {
			ui_advanced_close(a);
			return UI_ADV_DONE_CANCEL;
		}
		return ok(a);
	}
	if (r == UI_FORM_REFUSED) {
		const struct ui_field *fl = &a->form.fields[a->form.focus];

		a->message = xstrdup(fl->error ? fl->error : "");
		return UI_ADV_CHANGED;
	}
	return r == UI_FORM_IGNORED ? UI_ADV_IGNORED : UI_ADV_CHANGED;
}
