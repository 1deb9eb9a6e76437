/*
 * core/ui_prompt.c: see ui_prompt.h.
 */
#include "core/ui_prompt.h"

#include <ctype.h>
#include <stdlib.h>

#include "core/ui_key.h"
#include "core/xmalloc.h"

void
ui_prompt_open(struct ui_prompt *p, int kind, const char *text,
    const char *const *answers, size_t n)
{
	ui_prompt_close(p);
	p->active = true;
	p->kind = kind;
	p->text = xstrdup(text);
	for (size_t i = 0; i < n && i < UI_PROMPT_MAX; i++)
		p->answers[p->n++] = answers[i];
	p->sel = 0;
}

void
ui_prompt_close(struct ui_prompt *p)
{
	free(p->text);
	p->text = NULL;
	p->active = false;
	p->n = 0;
	p->sel = 0;
}

static int
answer(struct ui_prompt *p, size_t i)
{
	ui_prompt_close(p);
	return (int)i;
}

int
ui_prompt_key(struct ui_prompt *p, int key)
{
	if (!p->active || p->n == 0)
		return -1;
	switch (key) {
	case UI_KEY_LEFT:
	case UI_KEY_BTAB:
	case UI_KEY_UP:
		p->sel = (p->sel + p->n - 1) % p->n;
		return -1;
	case UI_KEY_RIGHT:
	case UI_KEY_TAB:
	case UI_KEY_DOWN:
		p->sel = (p->sel + 1) % p->n;
		return -1;
	case UI_KEY_ENTER:
	case ' ':
		return answer(p, p->sel);
	case UI_KEY_ESC:
		return answer(p, p->n - 1);
	}
	if (key < 0x80 && isalpha(key)) {
		for (size_t i = 0; i < p->n; i++)
			if (tolower((unsigned char)p->answers[i][0]) ==
			    tolower(key))
				return answer(p, i);
	}
	return -1;
}
