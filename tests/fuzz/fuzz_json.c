/*
 * tests/fuzz/fuzz_json.c: fuzz target for the json profile reader (see
 * fuzz_reader.h for what every input must give).
 */
#include <stddef.h>
#include <stdint.h>

#include "tests/fuzz/fuzz_reader.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_reader(profile_json_read, data, size);
}
