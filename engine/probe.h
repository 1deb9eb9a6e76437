/*
 * engine/probe.h: the text report of a probe (what smtp_open() learnt:
 * server, TLS, certificate, capabilities, AUTH), shared by `gwengine probe`
 * and the menu's Test.  Stored text is escaped before it is printed.
 */
#ifndef GWSMTP_ENGINE_PROBE_H
#define GWSMTP_ENGINE_PROBE_H

#include <stdio.h>
#include <time.h>

#include "engine/smtp.h"

/* One "label   value" line per fact; the last is "result". */
void	 probe_report(FILE *fp, const struct profile *p,
	     const struct smtp_probe *pr, enum smtp_status st,
	     const char *cause);
/* " STARTTLS PIPELINING ..." (each word after a space) into buf. */
void	 probe_caps_words(const struct smtp_caps *c, char *buf, size_t len);
/* RFC 3339 in UTC, "?" when unknown. */
void	 probe_iso_time(time_t t, char *buf, size_t len);

#endif
