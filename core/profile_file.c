/*
 * core/profile_file.c: the parsed form of a profile file, and what the JSON
 * and msmtprc readers share: appending and checking an entry, and the index
 * of names.
 */
#include "core/profile_file.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"

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

struct profile_entry *
profile_file_add(struct profile_file *f, struct profile *p, int line,
    int column, bool password_given)
{
	struct profile_entry *e;

	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 16;
		f->entries = xreallocarray(f->entries, f->cap,
		    sizeof *f->entries);
	}
	e = &f->entries[f->n++];
	e->profile = p;
	e->line = line;
	e->column = column;
	e->password_given = password_given;
	return e;
}

size_t
profile_file_validate(const struct profile *p, bool password_elsewhere,
    const bool refused[PROFILE_KEY_COUNT], int line, int column,
    struct diag_list *errs)
{
	size_t from = errs->n, out = from;

	profile_validate_partial(p, password_elsewhere, errs);
	diag_locate(errs, from, line, column);
	for (size_t i = from; i < errs->n; i++) {
		struct diag *d = &errs->v[i];
		enum profile_key k;

		if (d->key != NULL && profile_key_lookup(d->key, &k) == 0 &&
		    refused[k]) {
			free(d->profile);
			free(d->key);
			free(d->reason);
			continue;
		}
		errs->v[out++] = *d;
	}
	errs->n = out;
	return out - from;
}

struct profile_name_slot {
	const char	*name;		/* NULL: free */
	size_t		 value;
};

static uint64_t
name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a */

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* The slot holding name, or the free slot where it would go. */
static struct profile_name_slot *
name_slot(const struct profile_names *names, const char *name)
{
	size_t mask = names->nslots - 1, i = name_hash(name) & mask;

	while (names->slots[i].name != NULL &&
	    strcmp(names->slots[i].name, name) != 0)
		i = (i + 1) & mask;
	return &names->slots[i];
}

bool
profile_names_add(struct profile_names *names, const char *name,
    size_t *value)
{
	struct profile_name_slot *slot;

	/* At most half full, so that probes stay short. */
	if ((names->n + 1) * 2 > names->nslots) {
		struct profile_name_slot *old = names->slots;
		size_t oldn = names->nslots;

		names->nslots = oldn ? oldn * 2 : 64;
		names->slots = xcalloc(names->nslots, sizeof *names->slots);
		for (size_t i = 0; i < oldn; i++) {
			if (old[i].name != NULL)
				*name_slot(names, old[i].name) = old[i];
		}
		free(old);
	}
	slot = name_slot(names, name);
	if (slot->name != NULL) {
		*value = slot->value;
		return false;
	}
	slot->name = name;
	slot->value = *value;
	names->n++;
	return true;
}

bool
profile_names_find(const struct profile_names *names, const char *name,
    size_t *value)
{
	const struct profile_name_slot *slot;

	if (names->n == 0)
		return false;
	slot = name_slot(names, name);
	if (slot->name == NULL)
		return false;
	*value = slot->value;
	return true;
}

void
profile_names_clear(struct profile_names *names)
{
	free(names->slots);
	memset(names, 0, sizeof *names);
}
