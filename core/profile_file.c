/*
 * core/profile_file.c: the parsed form of a profile file, shared by the
 * JSON and msmtprc readers.
 */
#include "core/profile_file.h"

#include <stdlib.h>
#include <string.h>

void
profile_file_init(struct profile_file *f)
{
	memset(f, 0, sizeof *f);
	settings_init(&f->settings);
}

void
profile_file_clear(struct profile_file *f)
{
	for (size_t i = 0; i < f->n; i++)
		profile_free(f->entries[i].profile);
	free(f->entries);
	settings_clear(&f->settings);
	diag_list_clear(&f->warnings);
	memset(f, 0, sizeof *f);
}
