/*
 * core/profile_file.h: profile files, the format of import and export.
 *
 * Readers turn a file (JSON as SPEC section 5 shows, or msmtp's msmtprc) into
 * validated profiles and settings, collecting every error with its line (and
 * column for JSON).  Writers produce the JSON form.  Nothing here touches the
 * store: deciding what to create, update or delete is the caller's.
 */
#ifndef GWSMTP_CORE_PROFILE_FILE_H
#define GWSMTP_CORE_PROFILE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/diag.h"
#include "core/profile.h"

struct profile_entry {
	struct profile	*profile;
	int		 line;		/* where the profile starts */
	int		 column;
	/*
	 * False when the file left the password out (export does by default):
	 * the importer then keeps the stored password of that profile.
	 */
	bool		 password_given;
};

struct profile_file {
	struct profile_entry	*entries;	/* in file order */
	size_t			 n;
	size_t			 cap;
	bool			 has_settings;
	struct smtp_settings	 settings;	/* defaults where not given */
	bool			 settings_given[SETTINGS_KEY_COUNT];
	int			 settings_line;
	int			 settings_column;
	/* Things carried over loosely or ignored (msmtprc): said, not fatal. */
	struct diag_list	 warnings;
};

void	 profile_file_init(struct profile_file *f);
/*
 * Frees every profile (wiping passwords) and the settings, leaving f zeroed:
 * clearing twice is harmless; profile_file_init() it before reusing it.
 */
void	 profile_file_clear(struct profile_file *f);
/* Appends p (taken) as an entry.  Returns the entry. */
struct profile_entry *profile_file_add(struct profile_file *f,
	     struct profile *p, int line, int column, bool password_given);
/*
 * The rules between keys for a profile a reader built, as
 * profile_validate_partial(): the errors are located at line and column
 * where they have no place of their own, and those about a key whose value
 * was refused (refused[key], reported already) are left out.  Returns how
 * many errors were added.
 */
size_t	 profile_file_validate(const struct profile *p, bool password_elsewhere,
	     const bool refused[PROFILE_KEY_COUNT], int line, int column,
	     struct diag_list *errs);

/*
 * Names seen, for duplicate checks and look-ups in constant time (a file may
 * hold many thousands of profiles).  Open addressing over borrowed names:
 * each must stay as it is until profile_names_clear().  Zeroed is empty.
 */
struct profile_names {
	struct profile_name_slot	*slots;
	size_t				 nslots;
	size_t				 n;
};

/*
 * Adds name with the caller's number for it (e.g. its index) and returns
 * true; or, if name is there already, leaves it and returns false with
 * *value set to the number it has.
 */
bool	 profile_names_add(struct profile_names *names, const char *name,
	     size_t *value);
/* True with *value set if name is there. */
bool	 profile_names_find(const struct profile_names *names,
	     const char *name, size_t *value);
void	 profile_names_clear(struct profile_names *names);

/*
 * Parse buf[0..len).  Keys absent from a profile take their defaults (the
 * port the default of the profile's tls), so an entry is a whole profile.
 * Every profile is checked with profile_validate_partial(), the password
 * being elsewhere when the entry leaves it out; names must be unique; a
 * default_profile in the settings must name a profile of the file or be
 * checked by the caller against the store (it is not checked here).
 *
 * Every error found is reported in one pass, in file order: a refused value
 * does not stop the checks of the rest of its profile (only the rules about
 * that key are left out, as they would repeat it), nor of the profiles after
 * it.  Only what makes the rest unreadable stops early: JSON that is not
 * well-formed (the profiles before the error are still checked), and for
 * msmtprc, an account whose line or parent cannot be read is not checked
 * as a whole.
 *
 * Returns 0, or -1 with every error in errs.  On -1, f holds the profiles
 * that could be read, errors or not (a refused name is NULL), and no
 * warnings, so that the caller can make its own checks (the stored
 * passwords) in the same pass; the caller clears f either way.
 */
int	 profile_json_read(const char *buf, size_t len, struct profile_file *f,
	     struct diag_list *errs);
int	 profile_msmtprc_read(const char *buf, size_t len,
	     struct profile_file *f, struct diag_list *errs);

/* What the writers do with the password. */
enum profile_secret_mode {
	PROFILE_SECRET_OMIT,	/* leave the key out */
	PROFILE_SECRET_MASK,	/* "********" when set */
	PROFILE_SECRET_INCLUDE	/* the password itself */
};

/*
 * {"profiles": [...], "settings": {...}}, two-space indented, keys in the
 * key table's order, unset keys left out.  settings may be NULL (then no
 * "settings" member).  Returns 0, or -1 with *cause on a write error.
 */
int	 profile_json_export(FILE *out, struct profile *const *profiles,
	     size_t n, const struct smtp_settings *settings,
	     enum profile_secret_mode secrets, char **cause);
/* One profile object (gwadmin show --json). */
int	 profile_json_write_profile(FILE *out, const struct profile *p,
	     enum profile_secret_mode secrets, char **cause);
/* A JSON array of profile objects (gwadmin list --json). */
int	 profile_json_write_list(FILE *out, struct profile *const *profiles,
	     size_t n, enum profile_secret_mode secrets, char **cause);
/* The settings object (gwadmin settings --json). */
int	 profile_json_write_settings(FILE *out, const struct smtp_settings *s,
	     char **cause);

#endif
