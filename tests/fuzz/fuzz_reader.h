/*
 * tests/fuzz/fuzz_reader.h: the one body of the profile file readers' fuzz
 * targets (fuzz_json.c, fuzz_msmtprc.c).  A header, not a file of its own,
 * because each libFuzzer binary is built from its target file alone.
 *
 * Any input must end in either profiles or located errors, never a crash or
 * a leak, and in what the importer relies on: errors exactly when the read
 * fails, and then no warnings; every entry a profile, named unless the read
 * failed.
 */
#ifndef GWSMTP_TESTS_FUZZ_READER_H
#define GWSMTP_TESTS_FUZZ_READER_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/profile_file.h"

static int
fuzz_reader(int (*reader)(const char *, size_t, struct profile_file *,
    struct diag_list *), const uint8_t *data, size_t size)
{
	struct profile_file f;
	struct diag_list errs = { 0 };
	int rc;

	profile_file_init(&f);
	rc = reader((const char *)data, size, &f, &errs);
	if ((rc == 0) != (errs.n == 0) || (rc != 0 && f.warnings.n != 0))
		abort();
	for (size_t i = 0; i < f.n; i++) {
		if (f.entries[i].profile == NULL ||
		    (rc == 0 && f.entries[i].profile->name == NULL))
			abort();
	}
	profile_file_clear(&f);
	diag_list_clear(&errs);
	return 0;
}

#endif
