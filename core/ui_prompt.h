/*
 * core/ui_prompt.h: a question with a few answers (Save / Discard /
 * Cancel, Delete / Cancel, Reload / Keep editing, OK), without curses.
 */
#ifndef GWSMTP_CORE_UI_PROMPT_H
#define GWSMTP_CORE_UI_PROMPT_H

#include <stdbool.h>
#include <stddef.h>

#define UI_PROMPT_MAX	3

struct ui_prompt {
	bool		 active;
	int		 kind;		/* the owner's tag */
	char		*text;
	const char	*answers[UI_PROMPT_MAX];	/* static */
	size_t		 n;
	size_t		 sel;
};

/* The last answer is the one Esc gives. */
void	 ui_prompt_open(struct ui_prompt *p, int kind, const char *text,
	     const char *const *answers, size_t n);
void	 ui_prompt_close(struct ui_prompt *p);

/*
 * Left/Right/Tab/Shift-Tab move; Enter or Space answers the highlighted
 * one; the first letter of an answer answers it; Esc answers the last.
 * Returns the answer's index (and closes), or -1 (still open).
 */
int	 ui_prompt_key(struct ui_prompt *p, int key);

#endif
