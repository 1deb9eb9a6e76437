/*
 * engine/gwengine.h: gwengine's command line (send, probe).
 */
#ifndef GWSMTP_ENGINE_GWENGINE_H
#define GWSMTP_ENGINE_GWENGINE_H

#include "engine/smtp.h"

/* gwengine's entry point; returns a sysexits.h code. */
int	 gwengine_main(int argc, char **argv);
/* The exit code for an SMTP outcome (SPEC section 7). */
int	 gwengine_exit_code(enum smtp_status st);

#endif
