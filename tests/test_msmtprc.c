/* tests/test_msmtprc.c: being written. */
#include <criterion/criterion.h>
