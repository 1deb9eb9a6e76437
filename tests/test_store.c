/* tests/test_store.c: being written. */
#include <criterion/criterion.h>
