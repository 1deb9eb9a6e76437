/*
 * core/harden.h: what a process that holds passwords does first.
 */
#ifndef GWSMTP_CORE_HARDEN_H
#define GWSMTP_CORE_HARDEN_H

/*
 * No core file (RLIMIT_CORE 0, soft and hard) and not dumpable
 * (PR_SET_DUMPABLE 0): a crash writes no memory image holding a password,
 * and processes of the same user cannot ptrace this one or read its
 * /proc/PID/mem.  Called by main() before anything is read.  0, or -1
 * with *cause.
 */
int	 harden_process(char **cause);

#endif
