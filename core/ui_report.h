/*
 * core/ui_report.h: a scrollable text panel (the Test report), without
 * curses.  Text arrives in pieces (from a pipe); lines are kept whole.
 */
#ifndef GWSMTP_CORE_UI_REPORT_H
#define GWSMTP_CORE_UI_REPORT_H

#include <stdbool.h>
#include <stddef.h>

struct ui_report {
	bool		 active;	/* shown */
	bool		 running;	/* the probe has not finished */
	char		*title;
	char		**lines;	/* complete lines, raw (escape to show) */
	size_t		 nlines;
	char		*partial;	/* a line not yet ended */
	size_t		 top;		/* first line shown */
	size_t		 height;	/* lines the view shows (set by views) */
};

void	 ui_report_open(struct ui_report *r, const char *title);
void	 ui_report_clear(struct ui_report *r);
/* Appends raw bytes; '\n' ends a line. */
void	 ui_report_append(struct ui_report *r, const char *buf, size_t len);
/* Ends the partial line and adds line (may be NULL), running = false. */
void	 ui_report_finish(struct ui_report *r, const char *line);
/* Up/Down/PgUp/PgDn/Home/End scroll; true if the key was one of those. */
bool	 ui_report_key(struct ui_report *r, int key);

#endif
