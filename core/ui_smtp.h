/*
 * core/ui_smtp.h: the SMTP screen's state, without curses or storage.
 *
 * The screen holds the global SMTP settings, a window on the list of
 * profile names, the profile being edited and its buttons (Advanced...,
 * Test, Save, Cancel), plus the Advanced dialog, the Test report and the
 * questions it asks.  It never touches the store: it queues requests
 * (struct ui_request) that the loop carries out, and the loop hands back
 * the results with ui_smtp_*_loaded/saved/deleted/test_*.
 *
 * Protocol, for the loop and for tests:
 *   ui_smtp_open(m, settings)        queues LOAD_NAMES
 *   ui_smtp_key(m, key)               may queue any request
 *   while (ui_smtp_request(m, &req))  carry out req, then report:
 *     LOAD_NAMES offset limit     -> ui_smtp_names_loaded()
 *     LOAD_PROFILE name           -> ui_smtp_profile_loaded()
 *     SAVE profile? settings?     -> ui_smtp_saved()   (one transaction)
 *     DELETE_PROFILE name         -> ui_smtp_deleted()
 *     RUN_TEST profile            -> ui_smtp_test_output()..., then
 *                                    ui_smtp_test_done()
 *     CANCEL_TEST                 -> kill the probe, ui_smtp_test_done()
 *     CLOSE (back to the menu), QUIT (leave gwadmin): nothing to report.
 * A result may queue further requests (a Save asked for by "Save" in the
 * unsaved-changes question continues with the load or quit it interrupted).
 */
#ifndef GWSMTP_CORE_UI_SMTP_H
#define GWSMTP_CORE_UI_SMTP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/profile.h"
#include "core/ui_advanced.h"
#include "core/ui_form.h"
#include "core/ui_prompt.h"
#include "core/ui_report.h"

/*
 * Field ids: a profile field has its profile key as id; a settings field
 * UI_SMTP_SETTINGS + its settings key; then the list and the buttons.
 */
enum ui_smtp_id {
	UI_SMTP_SETTINGS = 100,
	UI_SMTP_LIST = 200,
	UI_SMTP_ADVANCED = 300,
	UI_SMTP_TEST,
	UI_SMTP_SAVE,
	UI_SMTP_CANCEL
};

enum ui_request_type {
	UI_REQ_NONE,
	UI_REQ_LOAD_NAMES,
	UI_REQ_LOAD_PROFILE,
	UI_REQ_SAVE,
	UI_REQ_DELETE_PROFILE,
	UI_REQ_RUN_TEST,
	UI_REQ_CANCEL_TEST,
	UI_REQ_CLOSE,
	UI_REQ_QUIT
};

struct ui_request {
	enum ui_request_type		 type;
	char				 name[PROFILE_NAME_MAX + 1];
	size_t				 offset, limit;	/* LOAD_NAMES */
	/* Borrowed from the model until its next call; NULL: unchanged. */
	const struct profile		*profile;	/* SAVE, RUN_TEST */
	const struct smtp_settings	*settings;	/* SAVE */
};

/* What the store said, as the model needs to know it. */
enum ui_result {
	UI_RESULT_OK,
	UI_RESULT_STALE,	/* changed by another program */
	UI_RESULT_NOT_FOUND,
	UI_RESULT_ERROR
};

/* Prompt kinds (struct ui_prompt.kind). */
enum ui_smtp_prompt {
	UI_SMTP_PROMPT_UNSAVED,		/* Save / Discard / Cancel */
	UI_SMTP_PROMPT_DELETE,		/* Delete / Cancel */
	UI_SMTP_PROMPT_STALE,		/* Reload / Keep editing */
	UI_SMTP_PROMPT_MESSAGE,		/* OK */
	UI_SMTP_PROMPT_HELP,		/* OK */
	UI_SMTP_PROMPT_ADVANCED		/* Discard / Keep editing */
};

/* How many names are held around the selection. */
#define UI_SMTP_NAMES_WINDOW	128
#define UI_SMTP_REQ_MAX		4

struct ui_smtp {
	struct ui_form		 form;
	struct smtp_settings	 set_orig, set_work;
	/* The profile list: a window of names [names_off, +names_n). */
	size_t			 total;
	size_t			 sel;
	char			**names;
	size_t			 names_off, names_n;
	bool			 focus_on_load;	/* Enter on the list: focus the host */
	/* The profile edited: NULL when none; orig NULL while new. */
	struct profile		*orig, *work;
	struct ui_advanced	 adv;
	struct ui_report	 report;
	struct ui_prompt	 prompt;
	char			*message;	/* the last outcome, one line */
	bool			 message_error;
	/* What the unsaved-changes question interrupted. */
	enum ui_request_type	 pending;
	char			 pending_name[PROFILE_NAME_MAX + 1];
	bool			 pending_new;
	struct ui_request	 req[UI_SMTP_REQ_MAX];
	size_t			 nreq;
};

/* settings is copied. */
void	 ui_smtp_open(struct ui_smtp *m, const struct smtp_settings *settings);
void	 ui_smtp_close(struct ui_smtp *m);

/*
 * Keys.  Everywhere: F1 help for the focused field, F10 quit (also from
 * the Test report) and Esc back (both ask first when there are unsaved
 * changes).  The form: see
 * ui_form_key().  On the profile list: Up/Down/PgUp/PgDn/Home/End move,
 * Enter edits the selected profile, Insert or '+' adds one, Delete or '-'
 * deletes it (asks).  Prompts, the Advanced dialog and the Test report
 * take the keys while they are open.  Returns true if a redraw is due.
 */
bool	 ui_smtp_key(struct ui_smtp *m, int key);
/*
 * A key while the terminal is too small to show the screen: only those
 * ui_key_acts_hidden() lets through act, as ui_smtp_key() has them act;
 * the others change nothing.  Returns true if a redraw is due.
 */
bool	 ui_smtp_key_hidden(struct ui_smtp *m, int key);
/* Pops the next request into *out; false when there is none. */
bool	 ui_smtp_request(struct ui_smtp *m, struct ui_request *out);

/* names[0..n) are the names from offset on (borrowed: copied). */
void	 ui_smtp_names_loaded(struct ui_smtp *m, size_t offset,
	     const char *const *names, size_t n, size_t total);
/* p is taken over (OK only); cause is borrowed (NOT_FOUND, ERROR). */
void	 ui_smtp_profile_loaded(struct ui_smtp *m, enum ui_result r,
	     struct profile *p, const char *cause);
/* revision: the profile's new revision (OK); cause borrowed. */
void	 ui_smtp_saved(struct ui_smtp *m, enum ui_result r, long long revision,
	     const char *cause);
void	 ui_smtp_deleted(struct ui_smtp *m, enum ui_result r,
	     const char *cause);
void	 ui_smtp_test_output(struct ui_smtp *m, const char *buf, size_t len);
/* line: a last line (e.g. "cancelled"), or NULL. */
void	 ui_smtp_test_done(struct ui_smtp *m, const char *line);

/* Unsaved changes: settings or profile differ from the stored ones. */
bool	 ui_smtp_dirty(const struct ui_smtp *m);
/* The selected list row's name if loaded, else NULL. */
const char	*ui_smtp_name_at(const struct ui_smtp *m, size_t index);
/* One line: what the keys do where the focus is. */
const char	*ui_smtp_keys_help(const struct ui_smtp *m);
/* The help text for the focused field (F1); caller frees. */
char	*ui_smtp_field_help(const struct ui_smtp *m);

#endif
