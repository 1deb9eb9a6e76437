/*
 * core/ui_form.c: form state and key handling (see ui_form.h).  It does not
 * know what a value means nor how a form looks.
 */
#include "core/ui_form.h"

#include <stdlib.h>
#include <string.h>

#include "core/ui_key.h"
#include "core/xmalloc.h"

void
ui_form_init(struct ui_form *f, const struct ui_form_hooks *hooks)
{
	memset(f, 0, sizeof *f);
	if (hooks != NULL)
		f->hooks = *hooks;
}

void
ui_form_clear(struct ui_form *f)
{
	for (size_t i = 0; i < f->n; i++) {
		if (f->fields[i].type == UI_FIELD_SECRET)
			free_secret(f->fields[i].text);
		else
			free(f->fields[i].text);
		free(f->fields[i].error);
	}
	f->n = 0;
	f->focus = 0;
	f->dirty = false;
}

static struct ui_field *
add(struct ui_form *f, enum ui_field_type type, int id, const char *label)
{
	struct ui_field *fl;

	if (f->n == UI_FORM_MAX)
		abort();	/* a programming error: forms are static */
	fl = &f->fields[f->n++];
	memset(fl, 0, sizeof *fl);
	fl->type = type;
	fl->id = id;
	fl->label = label;
	fl->enabled = true;
	return fl;
}

size_t
ui_form_add_text(struct ui_form *f, int id, const char *label,
    enum ui_field_type type, const char *value)
{
	struct ui_field *fl = add(f, type, id, label);

	fl->text = xstrdup(value ? value : "");
	fl->cursor = strlen(fl->text);
	return f->n - 1;
}

size_t
ui_form_add_check(struct ui_form *f, int id, const char *label, bool checked)
{
	add(f, UI_FIELD_CHECK, id, label)->checked = checked;
	return f->n - 1;
}

size_t
ui_form_add_radio(struct ui_form *f, int id, const char *label,
    const char *const *options, size_t n, size_t choice)
{
	struct ui_field *fl = add(f, UI_FIELD_RADIO, id, label);

	for (size_t i = 0; i < n && i < UI_RADIO_MAX; i++)
		fl->options[fl->noptions++] = options[i];
	fl->choice = fl->hover = choice;
	return f->n - 1;
}

size_t
ui_form_add_button(struct ui_form *f, int id, const char *label)
{
	add(f, UI_FIELD_BUTTON, id, label);
	return f->n - 1;
}

size_t
ui_form_add_list(struct ui_form *f, int id, const char *label)
{
	add(f, UI_FIELD_LIST, id, label);
	return f->n - 1;
}

size_t
ui_form_find(const struct ui_form *f, int id)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->fields[i].id == id)
			return i;
	return (size_t)-1;
}

struct ui_field *
ui_form_field(struct ui_form *f, int id)
{
	size_t i = ui_form_find(f, id);

	return i == (size_t)-1 ? NULL : &f->fields[i];
}

int
ui_form_focus_id(const struct ui_form *f)
{
	return f->n ? f->fields[f->focus].id : -1;
}

static bool
is_text(const struct ui_field *fl)
{
	return fl->type == UI_FIELD_TEXT || fl->type == UI_FIELD_SECRET ||
	    fl->type == UI_FIELD_NUMBER;
}

void
ui_form_set_text(struct ui_form *f, size_t field, const char *value)
{
	struct ui_field *fl = &f->fields[field];

	if (fl->type == UI_FIELD_SECRET)
		free_secret(fl->text);
	else
		free(fl->text);
	fl->text = xstrdup(value ? value : "");
	fl->cursor = strlen(fl->text);
	fl->edited = false;
}

void
ui_form_set_error(struct ui_form *f, size_t field, const char *msg)
{
	free(f->fields[field].error);
	f->fields[field].error = msg ? xstrdup(msg) : NULL;
}

static size_t
step(struct ui_form *f, size_t from, int dir)
{
	size_t i = from;

	for (size_t n = 0; n < f->n; n++) {
		i = (i + f->n + (size_t)dir) % f->n;
		if (f->fields[i].enabled)
			return i;
	}
	return from;
}

void
ui_form_enable(struct ui_form *f, size_t field, bool on)
{
	f->fields[field].enabled = on;
	if (!on) {
		ui_form_set_error(f, field, NULL);
		if (f->focus == field)
			f->focus = step(f, field, 1);
	}
}

int
ui_form_commit(struct ui_form *f)
{
	struct ui_field *fl;
	char *cause = NULL;

	if (f->n == 0)
		return 0;
	fl = &f->fields[f->focus];
	if (!is_text(fl) || !fl->edited || f->hooks.leave == NULL)
		return 0;
	if (f->hooks.leave(f->hooks.arg, f, f->focus, &cause) != 0) {
		ui_form_set_error(f, f->focus, cause ? cause : "is not valid");
		free(cause);
		return -1;
	}
	ui_form_set_error(f, f->focus, NULL);
	fl->edited = false;
	return 0;
}

enum ui_form_result
ui_form_focus(struct ui_form *f, size_t field)
{
	if (field >= f->n || !f->fields[field].enabled)
		return UI_FORM_IGNORED;
	if (field == f->focus)
		return UI_FORM_CHANGED;
	if (ui_form_commit(f) != 0)
		return UI_FORM_REFUSED;
	f->focus = field;
	f->fields[field].hover = f->fields[field].choice;
	f->fields[field].edited = false;
	if (is_text(&f->fields[field]))
		f->fields[field].cursor = strlen(f->fields[field].text);
	return UI_FORM_CHANGED;
}

static size_t
utf8_prev(const char *s, size_t at)
{
	while (at > 0 && ((unsigned char)s[--at] & 0xc0) == 0x80)
		;
	return at;
}

static size_t
utf8_next(const char *s, size_t at)
{
	if (s[at] == '\0')
		return at;
	at++;
	while (((unsigned char)s[at] & 0xc0) == 0x80)
		at++;
	return at;
}

static size_t
utf8_encode(int cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	} else if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	} else if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Replaces text[from..to) with ins[0..n). */
static void
splice(struct ui_field *fl, size_t from, size_t to, const char *ins, size_t n)
{
	size_t len = strlen(fl->text);
	char *t = xmalloc(len - (to - from) + n + 1);

	memcpy(t, fl->text, from);
	memcpy(t + from, ins, n);
	memcpy(t + from + n, fl->text + to, len - to + 1);
	if (fl->type == UI_FIELD_SECRET)
		free_secret(fl->text);
	else
		free(fl->text);
	fl->text = t;
	fl->cursor = from + n;
}

static enum ui_form_result
edited(struct ui_form *f, struct ui_field *fl)
{
	fl->edited = true;
	f->dirty = true;
	return UI_FORM_CHANGED;
}

static enum ui_form_result
text_key(struct ui_form *f, struct ui_field *fl, int key)
{
	char buf[4];

	if (ui_key_is_char(key)) {
		if (fl->type == UI_FIELD_NUMBER && (key < '0' || key > '9'))
			return UI_FORM_CHANGED;	/* swallowed: digits only */
		if (fl->type == UI_FIELD_SECRET && !fl->edited)
			splice(fl, 0, strlen(fl->text), "", 0);
		splice(fl, fl->cursor, fl->cursor, buf, utf8_encode(key, buf));
		return edited(f, fl);
	}
	if (fl->type == UI_FIELD_SECRET) {
		if (key == UI_KEY_BACKSPACE || key == UI_KEY_DELETE) {
			splice(fl, 0, strlen(fl->text), "", 0);
			return edited(f, fl);
		}
		return UI_FORM_IGNORED;
	}
	switch (key) {
	case UI_KEY_LEFT:
		fl->cursor = utf8_prev(fl->text, fl->cursor);
		return UI_FORM_CHANGED;
	case UI_KEY_RIGHT:
		fl->cursor = utf8_next(fl->text, fl->cursor);
		return UI_FORM_CHANGED;
	case UI_KEY_HOME:
		fl->cursor = 0;
		return UI_FORM_CHANGED;
	case UI_KEY_END:
		fl->cursor = strlen(fl->text);
		return UI_FORM_CHANGED;
	case UI_KEY_BACKSPACE:
		if (fl->cursor == 0)
			return UI_FORM_CHANGED;
		splice(fl, utf8_prev(fl->text, fl->cursor), fl->cursor, "", 0);
		return edited(f, fl);
	case UI_KEY_DELETE:
		if (fl->text[fl->cursor] == '\0')
			return UI_FORM_CHANGED;
		splice(fl, fl->cursor, utf8_next(fl->text, fl->cursor), "", 0);
		return edited(f, fl);
	}
	return UI_FORM_IGNORED;
}

static void
changed(struct ui_form *f)
{
	f->dirty = true;
	if (f->hooks.changed != NULL)
		f->hooks.changed(f->hooks.arg, f, f->focus);
}

enum ui_form_result
ui_form_key(struct ui_form *f, int key)
{
	struct ui_field *fl;
	enum ui_form_result r;

	if (f->n == 0)
		return UI_FORM_IGNORED;
	fl = &f->fields[f->focus];
	switch (key) {
	case UI_KEY_TAB:
		return ui_form_focus(f, step(f, f->focus, 1));
	case UI_KEY_BTAB:
		return ui_form_focus(f, step(f, f->focus, -1));
	case UI_KEY_DOWN:
	case UI_KEY_UP:
		if (fl->type == UI_FIELD_LIST)
			return UI_FORM_IGNORED;
		return ui_form_focus(f, step(f, f->focus,
		    key == UI_KEY_DOWN ? 1 : -1));
	}
	switch (fl->type) {
	case UI_FIELD_TEXT:
	case UI_FIELD_SECRET:
	case UI_FIELD_NUMBER:
		if (key == UI_KEY_ENTER)
			return ui_form_focus(f, step(f, f->focus, 1));
		return text_key(f, fl, key);
	case UI_FIELD_CHECK:
		if (key == ' ') {
			fl->checked = !fl->checked;
			changed(f);
			return UI_FORM_CHANGED;
		}
		if (key == UI_KEY_ENTER)
			return ui_form_focus(f, step(f, f->focus, 1));
		break;
	case UI_FIELD_RADIO:
		if (key == UI_KEY_LEFT && fl->hover > 0) {
			fl->hover--;
			return UI_FORM_CHANGED;
		}
		if (key == UI_KEY_RIGHT && fl->hover + 1 < fl->noptions) {
			fl->hover++;
			return UI_FORM_CHANGED;
		}
		if (key == UI_KEY_LEFT || key == UI_KEY_RIGHT)
			return UI_FORM_CHANGED;
		if (key == ' ' || key == UI_KEY_ENTER) {
			if (fl->choice != fl->hover) {
				fl->choice = fl->hover;
				changed(f);
			} else if (key == UI_KEY_ENTER)
				return ui_form_focus(f, step(f, f->focus, 1));
			return UI_FORM_CHANGED;
		}
		break;
	case UI_FIELD_BUTTON:
		if (key == ' ' || key == UI_KEY_ENTER) {
			r = ui_form_commit(f) == 0 ? UI_FORM_ACTIVATED :
			    UI_FORM_REFUSED;
			return r;
		}
		if (key == UI_KEY_LEFT)
			return ui_form_focus(f, step(f, f->focus, -1));
		if (key == UI_KEY_RIGHT)
			return ui_form_focus(f, step(f, f->focus, 1));
		break;
	case UI_FIELD_LIST:
		break;
	}
	return UI_FORM_IGNORED;
}
