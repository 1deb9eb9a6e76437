/* tests/test_json.c: being written. */
#include <criterion/criterion.h>
