/*
 * core/ui_advanced.h: the SMTP screen's Advanced... dialog (TLS,
 * authentication, timeouts and retries of one profile), without curses.
 *
 * It edits a copy of the profile; OK hands the copy back, Cancel drops it.
 * Values go through profile_set() as each field is left, so a refusal has
 * gwadmin set's words.  Fields that do not apply are disabled, not hidden:
 * with Use SSL/TLS off the mode, STARTTLS, verify, CA file, fingerprint and
 * minimum version; STARTTLS in implicit mode; login and password unless
 * PLAIN or LOGIN; trace unless ANONYMOUS; "allow PLAIN without TLS" unless
 * PLAIN/LOGIN with TLS off.  Ticking TLS or changing the mode moves a port
 * at its default to the new default and keeps a typed one
 * (profile_tls_changed()).
 */
#ifndef GWSMTP_CORE_UI_ADVANCED_H
#define GWSMTP_CORE_UI_ADVANCED_H

#include <stdbool.h>

#include "core/profile.h"
#include "core/ui_form.h"

/*
 * Field ids: a field that holds one profile key has that key as its id;
 * the others are these.
 */
enum ui_adv_id {
	UI_ADV_USE_TLS = 100,	/* checkbox: tls != none */
	UI_ADV_MODE,		/* radio: Implicit, Explicit */
	UI_ADV_OK,
	UI_ADV_CANCEL
};

struct ui_advanced {
	bool		 active;
	struct ui_form	 form;
	struct profile	*p;		/* the copy being edited */
	char		*message;	/* why OK was refused, or NULL */
};

enum ui_adv_result {
	UI_ADV_IGNORED,
	UI_ADV_CHANGED,		/* redraw */
	UI_ADV_DONE_OK,		/* take the profile: ui_advanced_take() */
	UI_ADV_DONE_CANCEL,	/* closed, nothing changed */
	UI_ADV_ASK_DISCARD	/* Esc with changes: the caller asks first,
				   then ui_advanced_close() or keeps it open */
};

/* Opens on a copy of p. */
void	 ui_advanced_open(struct ui_advanced *a, const struct profile *p);
void	 ui_advanced_close(struct ui_advanced *a);
/* After UI_ADV_DONE_OK: the edited profile (caller frees); closes. */
struct profile	*ui_advanced_take(struct ui_advanced *a);
/*
 * Form keys (see ui_form_key()); Enter on OK or Cancel; Esc cancels, or
 * answers UI_ADV_ASK_DISCARD when the dialog holds changes.  OK validates the focused field, then the rules between the
 * dialog's keys (profile_validate()); a refusal focuses the field.
 */
enum ui_adv_result ui_advanced_key(struct ui_advanced *a, int key);
/* The profile key a field id stands for (help texts); -1 for buttons. */
int	 ui_advanced_field_key(int id);

#endif
