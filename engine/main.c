/*
 * engine/main.c: gwengine.  Everything is in gwengine.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#include "core/harden.h"
#include "engine/gwengine.h"

int
main(int argc, char **argv)
{
	char *cause = NULL;

	/* Before any password is read: no core file, no ptrace. */
	if (harden_process(&cause) != 0) {
		fprintf(stderr, "gwengine: %s\n", cause);
		free(cause);
		return EX_OSERR;
	}
	return gwengine_main(argc, argv);
}
