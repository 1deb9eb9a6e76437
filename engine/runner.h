/*
 * engine/runner.h: `gwengine run`: delivers the queue.
 *
 * The main thread watches the store (store_changed() and, while idle, the
 * store's notification descriptor: inotify for SQLite, LISTEN for
 * PostgreSQL; no busy polling), frees the leases of engines that died, and starts one worker thread per connection: up
 * to the profile's max_connections for each profile with messages due.
 * A worker claims due messages under a lease, carries them over one SMTP
 * session (RSET between), and records outcomes in grouped transactions.
 */
#ifndef GWSMTP_ENGINE_RUNNER_H
#define GWSMTP_ENGINE_RUNNER_H

#include <stdbool.h>

/* How long a claim lasts unless renewed: --lease's range and default. */
#define RUNNER_LEASE_MIN	2
#define RUNNER_LEASE_MAX	3600
#define RUNNER_LEASE_DEFAULT	45

struct runner_opts {
	const char	*db;		/* the database path or URI */
	bool		 once;		/* deliver what is due, then return */
	bool		 syslog;	/* log to syslog instead of stderr */
	int		 lease;		/* seconds; 0: RUNNER_LEASE_DEFAULT */
};

/* Runs until done (once) or SIGTERM/SIGINT; returns a sysexits.h code. */
int	 runner_main(const struct runner_opts *o);

#endif
