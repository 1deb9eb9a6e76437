/* tests/test_profile.c: being written. */
#include <criterion/criterion.h>
