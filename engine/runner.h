/*
 * engine/runner.h: `gwengine run`: delivers the queue.
 *
 * The main thread watches the store (PRAGMA data_version and, while idle,
 * inotify on the database's directory: no busy polling), frees the leases
 * of engines that died, and starts one worker thread per connection: up
 * to the profile's max_connections for each profile with messages due.
 * A worker claims due messages under a lease, carries them over one SMTP
 * session (RSET between), and records outcomes in grouped transactions.
 */
#ifndef GWSMTP_ENGINE_RUNNER_H
#define GWSMTP_ENGINE_RUNNER_H

#include <stdbool.h>

struct runner_opts {
	const char	*db;		/* the database path */
	bool		 once;		/* deliver what is due, then return */
	bool		 syslog;	/* log to syslog instead of stderr */
};

/* Runs until done (once) or SIGTERM/SIGINT; returns a sysexits.h code. */
int	 runner_main(const struct runner_opts *o);

#endif
