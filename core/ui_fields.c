/*
 * core/ui_fields.c: see ui_fields.h.
 */
#include "core/ui_fields.h"

#include <stdlib.h>

#include "core/xmalloc.h"

char *
ui_fields_message(const char *key, const char *reason)
{
	return xasprintf("%s: %s", key, reason);
}

int
ui_fields_set(struct profile *p, int id, const char *text, char **cause)
{
	char *why = NULL;

	if (id < 0 || id >= PROFILE_KEY_COUNT)
		return 0;
	if (profile_set(p, (enum profile_key)id, text, &why) != 0) {
		*cause = ui_fields_message(profile_key_name((enum profile_key)id),
		    why);
		free(why);
		return -1;
	}
	return 0;
}

int
ui_fields_settings_set(struct smtp_settings *s, enum settings_key key,
    const char *text, char **cause)
{
	char *why = NULL;

	if (settings_set(s, key, text, &why) != 0) {
		*cause = ui_fields_message(settings_key_name(key), why);
		free(why);
		return -1;
	}
	return 0;
}
