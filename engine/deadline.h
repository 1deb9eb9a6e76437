/*
 * engine/deadline.h: the time limits of network operations, as deadlines
 * on CLOCK_MONOTONIC in milliseconds.  A profile's timeout bounds each
 * whole operation (a reply, a handshake, 64 KiB written), not the gap
 * between two bytes, so a server that drips a byte at a time still ends it.
 *
 * deadline_stop() caps every deadline made afterwards as well: once the
 * daemon is told to stop, no operation runs longer than its timeout from
 * that moment, and one begun before ends sooner by construction.
 */
#ifndef GWSMTP_ENGINE_DEADLINE_H
#define GWSMTP_ENGINE_DEADLINE_H

/* Milliseconds on the monotonic clock. */
long long	 deadline_now(void);
/*
 * The deadline of an operation starting now with a limit of seconds
 * (-1: none, when seconds <= 0): seconds from now, or from the stop
 * request if there was one and that comes first.
 */
long long	 deadline_after(int seconds);
/* What is left of deadline for poll(2): 0 if past, -1 if none. */
int		 deadline_poll_ms(long long deadline);
/* Every later deadline_after(s) ends at most s seconds from now.  Async-
 * signal-safe and callable from any thread; the first call counts. */
void		 deadline_stop(void);

#endif
