/*
 * engine/deadline.c: deadlines on the monotonic clock (engine/deadline.h).
 * One process-wide stop time, set once; nothing else is shared.
 */
#include "engine/deadline.h"

#include <limits.h>
#include <stdatomic.h>
#include <time.h>

/* When deadline_stop() was first called, or 0. */
static atomic_llong stop_at;

long long
deadline_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long
deadline_after(int seconds)
{
	long long stop = atomic_load(&stop_at), start = deadline_now();

	if (seconds <= 0)
		return -1;
	if (stop != 0 && stop < start)
		start = stop;
	return start + (long long)seconds * 1000;
}

int
deadline_poll_ms(long long deadline)
{
	long long left;

	if (deadline == -1)
		return -1;
	if ((left = deadline - deadline_now()) < 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

void
deadline_stop(void)
{
	long long none = 0;

	atomic_compare_exchange_strong(&stop_at, &none, deadline_now());
}
