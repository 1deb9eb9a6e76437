/*
 * core/ui_key.h: the menu's key events, independent of curses.
 *
 * A key is an int: a printable character is its Unicode code point
 * (0x20..0x10FFFF, never a C0 control or DEL); the other keys are the
 * values of enum ui_key, all above the Unicode range.  tui/ maps curses
 * codes to these; the models in core/ui_*.c take only these.
 */
#ifndef GWSMTP_CORE_UI_KEY_H
#define GWSMTP_CORE_UI_KEY_H

#include <stdbool.h>

enum ui_key {
	UI_KEY_NONE = 0,
	UI_KEY_UP = 0x110000,
	UI_KEY_DOWN,
	UI_KEY_LEFT,
	UI_KEY_RIGHT,
	UI_KEY_HOME,
	UI_KEY_END,
	UI_KEY_PGUP,
	UI_KEY_PGDN,
	UI_KEY_ENTER,
	UI_KEY_ESC,
	UI_KEY_TAB,
	UI_KEY_BTAB,		/* Shift-Tab */
	UI_KEY_BACKSPACE,
	UI_KEY_DELETE,
	UI_KEY_INSERT,
	UI_KEY_F1,
	UI_KEY_F10,
	UI_KEY_RESIZE
};

/* True if key is a printable character (a code point, not a ui_key). */
static inline bool
ui_key_is_char(int key)
{
	return key >= 0x20 && key != 0x7f && key < 0x110000 &&
	    !(key >= 0x80 && key < 0xa0);
}

/*
 * Whether key acts while the terminal is too small to show the screen:
 * a resize, F10 (which quits, asking first as it does at full size) and,
 * while a question is open (the view shows it in the room there is), the
 * keys that answer it.  Every other key is dropped: nothing the
 * administrator cannot see may change.
 */
static inline bool
ui_key_acts_hidden(int key, bool question_open)
{
	return key == UI_KEY_RESIZE || key == UI_KEY_F10 || question_open;
}

#endif
