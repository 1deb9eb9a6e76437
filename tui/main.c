/*
 * tui/main.c: gwadmin.  Everything is in cli.c (and the menu's files).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#include "core/harden.h"
#include "tui/cli.h"

int
main(int argc, char **argv)
{
	char *cause = NULL;

	/* Before any password is read: no core file, no ptrace. */
	if (harden_process(&cause) != 0) {
		fprintf(stderr, "gwadmin: %s\n", cause);
		free(cause);
		return EX_OSERR;
	}
	return gwadmin_main(argc, argv);
}
