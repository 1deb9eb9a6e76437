/*
 * tests/tmux.h: driving a full-screen program (gwadmin's menu) under tmux
 * for the integration tests: a private tmux server per terminal (its
 * socket in a fresh temporary directory, so tests run in parallel), keys
 * with send-keys, the screen with capture-pane, and waits that poll the
 * screen until the expected text is there.  Never a fixed sleep: a wait
 * ends as soon as the screen shows what it waits for, and fails the test
 * with the last screen if it does not within the timeout.
 *
 * Not a terminal emulator: what the screen shows is tmux's.
 */
#ifndef GWSMTP_TESTS_TMUX_H
#define GWSMTP_TESTS_TMUX_H

#include <stdbool.h>

#include "tests/testutil.h"

/*
 * Generous: the ASan build and a loaded machine are slow, and a wait that
 * is met ends at once.  The bound of every other settling wait.
 */
#define TU_TMUX_TIMEOUT_MS	TU_SETTLE_MS

/*
 * Skips the test when tmux is not on PATH; under CI=true fails it
 * instead.  tu_tmux_start() calls it itself.
 */
void	 tu_require_tmux(void);

struct tu_tmux;

/*
 * Starts argv (NULL-terminated; argv[0] searched in PATH) in a detached
 * tmux session of cols x rows, with LANG=C.UTF-8, the pane's TERM being
 * tmux-256color (screen if this machine lacks its terminfo).  The pane
 * stays after the program exits (its last screen can still be read), and
 * tu_tmux_wait_exit() learns the exit status.  Fails the test if tmux
 * cannot start.  The server is killed at exit if the test fails
 * before tu_tmux_stop().
 */
struct tu_tmux *tu_tmux_start(int cols, int rows, const char *const *argv);
/* Kills the tmux server (and the program) and frees t.  NULL: no-op. */
void	 tu_tmux_stop(struct tu_tmux *t);

/*
 * Sends tmux key names ("Down", "Enter", "Escape", "F10", "BTab", "C-a",
 * "Space", a single character...), NULL-terminated.
 */
void	 tu_tmux_keys(struct tu_tmux *t, ...) __attribute__((sentinel));
/* Sends text literally (send-keys -l). */
void	 tu_tmux_text(struct tu_tmux *t, const char *text);

/* The screen now (capture-pane -p): rows joined by '\n'.  Caller frees. */
char	*tu_tmux_screen(struct tu_tmux *t);
/* Row y of the screen (0-based), without its newline.  Caller frees. */
char	*tu_tmux_row(struct tu_tmux *t, int y);

/*
 * Polls the screen until it contains text; returns that screen (caller
 * frees).  Fails the test, showing the last screen, after timeout_ms.
 */
char	*tu_tmux_wait(struct tu_tmux *t, const char *text, int timeout_ms);
/* The same, until the screen no longer contains text. */
char	*tu_tmux_wait_gone(struct tu_tmux *t, const char *text,
	     int timeout_ms);
/*
 * The same, until one capture contains every text of texts (NULL-
 * terminated) at once: a screen captured half-redrawn never passes for
 * the whole redraw.  Check what must be absent on the screen returned.
 */
char	*tu_tmux_wait_all(struct tu_tmux *t, const char *const *texts,
	     int timeout_ms);
/*
 * The same, until ok(screen, arg) holds for one capture; what says what
 * is waited for, in the failure's message.
 */
char	*tu_tmux_wait_until(struct tu_tmux *t,
	     bool (*ok)(const char *screen, void *arg), void *arg,
	     const char *what, int timeout_ms);
/*
 * Polls until the program has exited; returns its exit status (128+N if
 * killed by signal N).  Fails the test after timeout_ms.
 */
int	 tu_tmux_wait_exit(struct tu_tmux *t, int timeout_ms);
/* Whether the program is still running. */
bool	 tu_tmux_alive(struct tu_tmux *t);

/* Resizes the window (and so the pane): the program gets SIGWINCH. */
void	 tu_tmux_resize(struct tu_tmux *t, int cols, int rows);

#endif
