/*
 * tui/menu.c: the menu's loop.  It maps curses keys to core/ui_key.h
 * codes, hands them to the models, carries out the models' requests
 * against the store (and the Test probe in a child process) and redraws.
 * It decides nothing itself: the models do.
 */
#include "tui/menu.h"

#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <curses.h>

#include "core/ui_key.h"
#include "core/ui_menu.h"
#include "core/ui_smtp.h"
#include "core/xmalloc.h"
#include "engine/probe.h"
#include "engine/smtp.h"
#include "store/store.h"
#include "tui/view.h"

struct loop {
	struct store	*store;
	struct ui_menu	 menu;
	struct ui_smtp	 smtp;
	bool		 in_smtp;
	bool		 quit;
	pid_t		 test_pid;
	int		 test_fd;
};

static int
map_key(int rc, wint_t ch)
{
	if (rc == KEY_CODE_YES) {
		switch (ch) {
		case KEY_UP:		return UI_KEY_UP;
		case KEY_DOWN:		return UI_KEY_DOWN;
		case KEY_LEFT:		return UI_KEY_LEFT;
		case KEY_RIGHT:		return UI_KEY_RIGHT;
		case KEY_HOME:		return UI_KEY_HOME;
		case KEY_END:		return UI_KEY_END;
		case KEY_PPAGE:		return UI_KEY_PGUP;
		case KEY_NPAGE:		return UI_KEY_PGDN;
		case KEY_ENTER:		return UI_KEY_ENTER;
		case KEY_BTAB:		return UI_KEY_BTAB;
		case KEY_BACKSPACE:	return UI_KEY_BACKSPACE;
		case KEY_DC:		return UI_KEY_DELETE;
		case KEY_IC:		return UI_KEY_INSERT;
		case KEY_RESIZE:	return UI_KEY_RESIZE;
		}
		if (ch == KEY_F(1))
			return UI_KEY_F1;
		if (ch == KEY_F(10))
			return UI_KEY_F10;
		return UI_KEY_NONE;
	}
	switch (ch) {
	case 3:
		/* Ctrl-C: F10, which asks before unsaved changes go. */
		return UI_KEY_F10;
	case '\n':
	case '\r':
		return UI_KEY_ENTER;
	case '\t':
		return UI_KEY_TAB;
	case 27:
		return UI_KEY_ESC;
	case 8:
	case 127:
		return UI_KEY_BACKSPACE;
	}
	return ui_key_is_char((int)ch) ? (int)ch : UI_KEY_NONE;
}

static enum ui_result
result_of(int status)
{
	switch (status) {
	case STORE_OK:		return UI_RESULT_OK;
	case STORE_STALE:	return UI_RESULT_STALE;
	case STORE_NOT_FOUND:	return UI_RESULT_NOT_FOUND;
	default:		return UI_RESULT_ERROR;
	}
}

/*
 * The terminal's modes as the menu found them, put back by the signals
 * that end it without curses' help (curses' own handler ends it through
 * endwin() on SIGINT and SIGTERM): SIGQUIT (Ctrl-\) and SIGHUP, caught
 * only where they would have ended the program (not under nohup).  Only
 * the modes: a shell after a quit has Ctrl-C, Ctrl-S and echo back.
 */
static struct termios tty_found;
static const int fatal_signals[] = { SIGQUIT, SIGHUP };
#define NFATAL	(sizeof fatal_signals / sizeof fatal_signals[0])
static struct sigaction fatal_old[NFATAL];
static bool fatal_caught[NFATAL];

static void
fatal_signal(int sig)
{
	/* Async-signal-safe; SA_RESETHAND: raise() then does what sig does. */
	tcsetattr(STDOUT_FILENO, TCSANOW, &tty_found);
	raise(sig);
}

static void
fatal_signals_catch(void)
{
	struct sigaction sa;

	if (tcgetattr(STDOUT_FILENO, &tty_found) != 0)
		return;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fatal_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NFATAL; i++)
		fatal_caught[i] = sigaction(fatal_signals[i], NULL,
		    &fatal_old[i]) == 0 && fatal_old[i].sa_handler == SIG_DFL &&
		    sigaction(fatal_signals[i], &sa, NULL) == 0;
}

/* Back to what they were (the menu's end, and the Test's child). */
static void
fatal_signals_restore(void)
{
	for (size_t i = 0; i < NFATAL; i++)
		if (fatal_caught[i]) {
			sigaction(fatal_signals[i], &fatal_old[i], NULL);
			fatal_caught[i] = false;
		}
}

/* Test: the probe runs in a child that writes its report to a pipe. */

static char *
helo_name(const struct profile *p)
{
	char host[HOST_NAME_MAX + 1];

	if (p->helo != NULL)
		return xstrdup(p->helo);
	if (gethostname(host, sizeof host) == 0) {
		host[sizeof host - 1] = '\0';
		return xstrdup(host);
	}
	return xstrdup("localhost.localdomain");
}

static void
test_start(struct loop *l, const struct profile *p)
{
	int fds[2];
	pid_t pid;

	if (pipe(fds) == -1) {
		ui_smtp_test_done(&l->smtp, strerror(errno));
		return;
	}
	fflush(NULL);
	if ((pid = fork()) == -1) {
		close(fds[0]);
		close(fds[1]);
		ui_smtp_test_done(&l->smtp, strerror(errno));
		return;
	}
	if (pid == 0) {
		/* The child: no curses, no store; the report and out. */
		struct smtp_probe pr = { 0 };
		struct smtp_session *s = NULL;
		char *cause = NULL, *helo = helo_name(p);
		enum smtp_status st;
		FILE *fp;

		fatal_signals_restore();
		close(fds[0]);
		if ((fp = fdopen(fds[1], "w")) == NULL)
			_exit(1);
		st = smtp_open(p, helo, &pr, &s, &cause);
		probe_report(fp, p, &pr, st, cause);
		smtp_close(s);
		fclose(fp);
		_exit(st == SMTP_OK ? 0 : 1);
	}
	close(fds[1]);
	fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	l->test_pid = pid;
	l->test_fd = fds[0];
}

static void
test_stop(struct loop *l, bool kill_it)
{
	if (l->test_pid <= 0)
		return;
	if (kill_it)
		kill(l->test_pid, SIGKILL);
	waitpid(l->test_pid, NULL, 0);
	close(l->test_fd);
	l->test_pid = 0;
	l->test_fd = -1;
}

/* Reads what the probe wrote; true if the screen changed. */
static bool
test_poll(struct loop *l)
{
	char buf[4096];
	ssize_t n;
	bool any = false;

	while (l->test_pid > 0) {
		n = read(l->test_fd, buf, sizeof buf);
		if (n > 0) {
			ui_smtp_test_output(&l->smtp, buf, (size_t)n);
			any = true;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			test_stop(l, false);
			ui_smtp_test_done(&l->smtp, NULL);
			return true;
		} else if (errno == EAGAIN)
			break;
	}
	return any;
}

/* The store's side of the models' requests. */

static void
do_save(struct loop *l, const struct ui_request *r)
{
	struct profile *p = NULL, *def = NULL;
	long long rev = 0;
	char *cause = NULL;
	int rc;

	if ((rc = store_begin(l->store, &cause)) != STORE_OK)
		goto out;
	if (r->profile != NULL) {
		p = profile_dup(r->profile);
		if ((rc = store_profile_put(l->store, p, NULL, &cause)) !=
		    STORE_OK)
			goto out;
		rev = p->revision;
	}
	if (r->settings != NULL) {
		const char *dp = r->settings->default_profile;

		if (dp != NULL) {
			rc = store_profile_get(l->store, dp, &def, &cause);
			if (rc == STORE_NOT_FOUND) {
				cause = xasprintf("default_profile: no profile "
				    "named '%s'", dp);
				rc = STORE_ERROR;
			}
			if (rc != STORE_OK)
				goto out;
		}
		if ((rc = store_settings_put(l->store, r->settings, &cause)) !=
		    STORE_OK)
			goto out;
	}
	rc = store_commit(l->store, &cause);
out:
	if (rc != STORE_OK)
		store_rollback(l->store);
	ui_smtp_saved(&l->smtp, result_of(rc), rev, cause);
	free(cause);
	profile_free(p);
	profile_free(def);
}

static void
do_request(struct loop *l, const struct ui_request *r)
{
	struct profile *p = NULL;
	char **names = NULL, *cause = NULL;
	size_t n = 0, total = 0;
	int rc;

	switch (r->type) {
	case UI_REQ_LOAD_NAMES:
		if ((rc = store_profile_count(l->store, &total, &cause)) ==
		    STORE_OK)
			rc = store_profile_names(l->store, r->offset, r->limit,
			    &names, &n, &cause);
		if (rc == STORE_OK)
			ui_smtp_names_loaded(&l->smtp, r->offset,
			    (const char *const *)names, n, total);
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		break;
	case UI_REQ_LOAD_PROFILE:
		rc = store_profile_get(l->store, r->name, &p, &cause);
		ui_smtp_profile_loaded(&l->smtp, result_of(rc),
		    rc == STORE_OK ? p : NULL, cause);
		break;
	case UI_REQ_SAVE:
		do_save(l, r);
		break;
	case UI_REQ_DELETE_PROFILE:
		rc = store_profile_delete(l->store, r->name, &cause);
		ui_smtp_deleted(&l->smtp, result_of(rc), cause);
		break;
	case UI_REQ_RUN_TEST:
		test_start(l, r->profile);
		break;
	case UI_REQ_CANCEL_TEST:
		test_stop(l, true);
		ui_smtp_test_done(&l->smtp, "cancelled");
		break;
	case UI_REQ_CLOSE:
		test_stop(l, true);
		ui_smtp_close(&l->smtp);
		l->in_smtp = false;
		break;
	case UI_REQ_QUIT:
		l->quit = true;
		break;
	case UI_REQ_NONE:
		break;
	}
	free(cause);
}

static void
open_smtp(struct loop *l)
{
	struct smtp_settings set;
	char *cause = NULL;

	settings_init(&set);
	settings_clear(&set);
	if (store_settings_get(l->store, &set, &cause) != STORE_OK) {
		settings_init(&set);
		free(cause);
	}
	ui_smtp_open(&l->smtp, &set);
	settings_clear(&set);
	l->in_smtp = true;
}

static void
draw(struct loop *l)
{
	if (l->in_smtp)
		view_smtp_draw(stdscr, &l->smtp);
	else
		view_menu_draw(stdscr, &l->menu);
	wnoutrefresh(stdscr);
	doupdate();
}

static void
handle_key(struct loop *l, int key)
{
	struct ui_request r;

	if (!l->in_smtp) {
		if (!view_fits(stdscr) && !ui_key_acts_hidden(key, false))
			return;
		switch (ui_menu_key(&l->menu, key)) {
		case UI_MENU_OPEN:
			if (l->menu.action == UI_ACTION_SMTP)
				open_smtp(l);
			break;
		case UI_MENU_QUIT:
			l->quit = true;
			break;
		default:
			if (key == UI_KEY_F10)
				l->quit = true;
			break;
		}
	} else if (!view_fits(stdscr))
		ui_smtp_key_hidden(&l->smtp, key);
	else
		ui_smtp_key(&l->smtp, key);
	while (l->in_smtp && ui_smtp_request(&l->smtp, &r))
		do_request(l, &r);
}

/*
 * Ctrl-S and Ctrl-C are the menu's keys, not the terminal's: with flow
 * control (IXON) Ctrl-S would freeze the screen until Ctrl-Q, and the
 * interrupt character would end the menu at once, unsaved changes and all
 * (curses' SIGINT handler exits 1).  IXON goes off and the interrupt character is
 * disabled, so Ctrl-C comes in as a key (map_key()).  ISIG stays on:
 * Ctrl-Z still suspends (rejected: raw(), which turns ISIG off).  Set
 * on the terminal curses set up (its output, as newterm() was given it);
 * def_prog_mode() makes this the mode curses restores after a suspend,
 * and endwin() puts back the modes newterm() found.
 */
static void
own_keys(void)
{
	struct termios t;

	if (tcgetattr(STDOUT_FILENO, &t) == 0) {
		t.c_iflag &= ~(tcflag_t)IXON;
		t.c_cc[VINTR] = _POSIX_VDISABLE;
		tcsetattr(STDOUT_FILENO, TCSANOW, &t);
	}
	def_prog_mode();
}

/* Whether the terminal on standard input has hung up or been closed. */
static bool
terminal_gone(void)
{
	struct pollfd pfd = { STDIN_FILENO, POLLIN, 0 };

	if (poll(&pfd, 1, 0) == -1)
		return errno != EINTR;
	return (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) != 0;
}

int
menu_run(struct store *s, char **cause)
{
	struct loop l = { .store = s, .test_fd = -1 };
	const char *cs;
	SCREEN *scr;
	wint_t ch;
	int rc;

	setlocale(LC_ALL, "");
	cs = nl_langinfo(CODESET);
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		*cause = xstrdup("the menu needs a terminal (use the "
		    "subcommands in scripts: gwadmin --help)");
		return -1;
	}
	fatal_signals_catch();
	if ((scr = newterm(NULL, stdout, stdin)) == NULL) {
		fatal_signals_restore();
		*cause = xasprintf("cannot use the terminal '%s'",
		    getenv("TERM") ? getenv("TERM") : "(unset)");
		return -1;
	}
	set_term(scr);
	set_escdelay(25);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	own_keys();
	view_setup(cs != NULL && strcmp(cs, "UTF-8") == 0);
	ui_menu_init(&l.menu, &ui_menu_tree);
	while (!l.quit) {
		draw(&l);
		/* A running probe is read every 50 ms; keys stay live. */
		wtimeout(stdscr, l.test_pid > 0 ? 50 : -1);
		rc = wget_wch(stdscr, &ch);
		if (rc == ERR) {
			/*
			 * Without a time-out ERR means the terminal is gone
			 * (hung up, closed); with one, it is the probe's tick
			 * unless the terminal hung up.  Either way, a menu
			 * without its terminal ends instead of spinning.
			 */
			if (l.test_pid <= 0 || terminal_gone())
				break;
			test_poll(&l);
			continue;
		}
		handle_key(&l, map_key(rc, ch));
		if (l.test_pid > 0)
			test_poll(&l);
	}
	test_stop(&l, true);
	if (l.in_smtp)
		ui_smtp_close(&l.smtp);
	endwin();
	delscreen(scr);
	fatal_signals_restore();
	return 0;
}
