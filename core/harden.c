/*
 * core/harden.c: keeping a process's memory, and the secrets in it, out of
 * core files and other processes (core/harden.h).
 */
#include "core/harden.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <errno.h>
#include <string.h>

#include "core/xmalloc.h"

int
harden_process(char **cause)
{
	const struct rlimit none = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &none) != 0) {
		*cause = xasprintf("cannot turn core files off: %s",
		    strerror(errno));
		return -1;
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		*cause = xasprintf("cannot make the process undumpable: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}
