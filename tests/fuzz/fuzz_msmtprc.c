/*
 * tests/fuzz/fuzz_msmtprc.c: fuzz target for the msmtprc profile reader.  Any input
 * must end in either profiles or located errors, never a crash or a leak.
 */
#include <stdint.h>
#include <stddef.h>

#include "core/profile_file.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct profile_file f;
	struct diag_list errs = { 0 };

	profile_file_init(&f);
	profile_msmtprc_read((const char *)data, size, &f, &errs);
	profile_file_clear(&f);
	diag_list_clear(&errs);
	return 0;
}
