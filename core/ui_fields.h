/*
 * core/ui_fields.h: the bridge between form fields and profile keys shared
 * by the menu's models: a field's text goes through profile_set(), and a
 * refusal reads as gwadmin set's ("port: must be between 1 and 65535").
 */
#ifndef GWSMTP_CORE_UI_FIELDS_H
#define GWSMTP_CORE_UI_FIELDS_H

#include "core/profile.h"

/*
 * profile_set(p, id, text) for a field whose id is a profile key.  On
 * refusal returns -1 with *cause = "KEY: reason" (caller frees).
 */
int	 ui_fields_set(struct profile *p, int id, const char *text,
	     char **cause);
/* The same for a settings key. */
int	 ui_fields_settings_set(struct smtp_settings *s, enum settings_key key,
	     const char *text, char **cause);
/* "KEY: reason" (caller frees). */
char	*ui_fields_message(const char *key, const char *reason);

#endif
