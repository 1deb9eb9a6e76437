/* tests/test_text.c: being written. */
#include <criterion/criterion.h>
