/*
 * core/ui_form.h: the state of a form (fields, focus, editing), without
 * curses.  A form is a list of fields; keys move the focus and edit the
 * focused field; ui_form_key() answers what changed.
 *
 * What a value means is not this module's business: the owner (the SMTP
 * screen, the Advanced dialog) is asked through ui_form_hooks when a field
 * is about to be left (it validates and may refuse, keeping the focus) and
 * told when a checkbox or radio group changed (it may enable or disable
 * other fields).  Drawing is tui/view_form.c's.
 */
#ifndef GWSMTP_CORE_UI_FORM_H
#define GWSMTP_CORE_UI_FORM_H

#include <stdbool.h>
#include <stddef.h>

enum ui_field_type {
	UI_FIELD_TEXT,
	UI_FIELD_SECRET,	/* text never shown: views draw ******** */
	UI_FIELD_NUMBER,	/* text that takes digits only */
	UI_FIELD_CHECK,
	UI_FIELD_RADIO,		/* one field, several options */
	UI_FIELD_BUTTON,
	UI_FIELD_LIST		/* drawn and driven by the owner (profile list) */
};

#define UI_RADIO_MAX	4

struct ui_field {
	enum ui_field_type	 type;
	int			 id;		/* the owner's */
	const char		*label;		/* static */
	bool			 enabled;
	char			*text;		/* TEXT, SECRET, NUMBER: never NULL */
	size_t			 cursor;	/* byte offset in text */
	bool			 edited;	/* typed into since focused */
	bool			 checked;	/* CHECK */
	const char		*options[UI_RADIO_MAX];	/* RADIO, static */
	size_t			 noptions;
	size_t			 choice;	/* RADIO: the picked option */
	size_t			 hover;		/* RADIO: the highlighted one */
	char			*error;		/* refusal shown in place, or NULL */
};

struct ui_form;

struct ui_form_hooks {
	/*
	 * Called when the focused field, typed into since it was focused, is
	 * about to lose the focus (or is committed by ui_form_commit()).
	 * Returns 0 to accept, or -1 with *cause (allocated) to refuse: the
	 * focus stays and the cause is the field's error.
	 */
	int	(*leave)(void *arg, struct ui_form *f, size_t field,
		    char **cause);
	/* A checkbox was toggled or a radio option picked. */
	void	(*changed)(void *arg, struct ui_form *f, size_t field);
	void	*arg;
};

#define UI_FORM_MAX	32

struct ui_form {
	struct ui_field		 fields[UI_FORM_MAX];
	size_t			 n;
	size_t			 focus;
	bool			 dirty;		/* any value changed */
	struct ui_form_hooks	 hooks;
};

/* What a key did. */
enum ui_form_result {
	UI_FORM_IGNORED,	/* not a form key here: the owner may use it */
	UI_FORM_CHANGED,	/* state changed: redraw */
	UI_FORM_REFUSED,	/* leaving was refused: the field has an error */
	UI_FORM_ACTIVATED	/* Enter or Space on a button: see focus */
};

void	 ui_form_init(struct ui_form *f, const struct ui_form_hooks *hooks);
/* Frees the texts (secrets wiped). */
void	 ui_form_clear(struct ui_form *f);

/* Adders return the field's index.  Labels are borrowed (static). */
size_t	 ui_form_add_text(struct ui_form *f, int id, const char *label,
	     enum ui_field_type type, const char *value);
size_t	 ui_form_add_check(struct ui_form *f, int id, const char *label,
	     bool checked);
size_t	 ui_form_add_radio(struct ui_form *f, int id, const char *label,
	     const char *const *options, size_t n, size_t choice);
size_t	 ui_form_add_button(struct ui_form *f, int id, const char *label);
size_t	 ui_form_add_list(struct ui_form *f, int id, const char *label);

/* The index of the field with id, or (size_t)-1. */
size_t	 ui_form_find(const struct ui_form *f, int id);
struct ui_field	*ui_form_field(struct ui_form *f, int id);
/* The focused field's id. */
int	 ui_form_focus_id(const struct ui_form *f);

/* Replaces a text field's value (cursor to the end); not an edit. */
void	 ui_form_set_text(struct ui_form *f, size_t field, const char *value);
void	 ui_form_set_error(struct ui_form *f, size_t field, const char *msg);
/*
 * Enables or disables a field.  A disabled field cannot take the focus;
 * if it has it, the focus moves on to the next enabled field.
 */
void	 ui_form_enable(struct ui_form *f, size_t field, bool on);
/*
 * Moves the focus to field (if enabled) after validating the one left.
 * Returns UI_FORM_CHANGED or UI_FORM_REFUSED.
 */
enum ui_form_result ui_form_focus(struct ui_form *f, size_t field);
/* Validates the focused field as if it were left; 0 or -1 (error set). */
int	 ui_form_commit(struct ui_form *f);

/*
 * Keys: Tab / Down next field, Shift-Tab / Up previous (Up and Down move
 * in a LIST field are the owner's: IGNORED); in a text field printable
 * characters insert at the cursor, Left/Right/Home/End move it,
 * Backspace/Delete erase, Enter moves on; a SECRET field's first
 * character replaces the whole value and Backspace erases all of it;
 * Space toggles a checkbox; in a radio group Left/Right highlight and
 * Space or Enter picks; Enter or Space on a button answers ACTIVATED.
 */
enum ui_form_result ui_form_key(struct ui_form *f, int key);

#endif
