/*
 * engine/gwengine.h: gwengine's command line (send, submit, queue, run,
 * probe).
 */
#ifndef GWSMTP_ENGINE_GWENGINE_H
#define GWSMTP_ENGINE_GWENGINE_H

#include "engine/smtp.h"

/* gwengine's entry point; returns a sysexits.h code. */
int	 gwengine_main(int argc, char **argv);
/* The EHLO name: the profile's helo, else this host's name if it is a
 * valid one, else localhost.localdomain.  Caller frees. */
char	*gwengine_helo_name(const struct profile *p);
/* Logs cause (and frees it); the exit code for a store status. */
int	 gwengine_store_exit(int status, char *cause);
/* The exit code for an SMTP outcome (SPEC section 7). */
int	 gwengine_exit_code(enum smtp_status st);

#endif
