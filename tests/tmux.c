/*
 * tests/tmux.c: a full-screen program under a private tmux server, for the
 * integration tests (see tmux.h).
 */
#include "tests/tmux.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/xmalloc.h"
#include "tests/testutil.h"

#define TMUX_ARGS_MAX	64
#define POLL_NS		2000000		/* 2 ms between two looks */

struct tu_tmux {
	char		*dir;		/* holds the socket */
	char		*sock;
	char		*status;	/* the program's exit status, once ended */
	struct tu_tmux	*next;
};

/* Servers still running: killed at exit if a failed assertion skipped
 * the test's own tu_tmux_stop(). */
static struct tu_tmux *live;

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool
in_path(const char *name)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL;
	bool found = false;

	copy = xstrdup(path ? path : "/usr/bin:/bin");
	for (dir = strtok_r(copy, ":", &save); dir != NULL && !found;
	    dir = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/%s", dir, name);

		found = access(p, X_OK) == 0;
		free(p);
	}
	free(copy);
	return found;
}

void
tu_require_tmux(void)
{
	const char *ci = getenv("CI");

	if (in_path("tmux"))
		return;
	if (ci != NULL && strcmp(ci, "true") == 0)
		cr_assert_fail("tmux is not installed (CI=true: not skipping)");
	cr_skip_test("tmux is not installed");
}

/*
 * Runs tmux -S SOCK args... (NULL-terminated), its stdout in *out if out
 * is not NULL (caller frees), stderr appended to it on failure.  Returns
 * the exit status.  Without a shell: texts are passed as they are.
 */
static int
run_tmux(struct tu_tmux *t, const char *const *args, char **out)
{
	const char *argv[TMUX_ARGS_MAX] = { "tmux", "-S", t->sock };
	size_t n = 3, len = 0, cap = 4096;
	char *buf = xmalloc(cap);
	int fds[2], status;
	pid_t pid;

	for (size_t i = 0; args[i] != NULL; i++) {
		cr_assert_lt(n, TMUX_ARGS_MAX - 1, "too many tmux arguments");
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	cr_assert_eq(pipe(fds), 0, "pipe: %s", strerror(errno));
	if ((pid = fork()) == 0) {
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		execvp("tmux", (char *const *)argv);
		_exit(127);
	}
	cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
	close(fds[1]);
	for (;;) {
		ssize_t r;

		if (cap - len < 2048)
			buf = xreallocarray(buf, cap *= 2, 1);
		r = read(fds[0], buf + len, cap - len - 1);
		if (r > 0)
			len += (size_t)r;
		else if (r == 0 || errno != EINTR)
			break;
	}
	buf[len] = '\0';
	close(fds[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	status = WIFEXITED(status) ? WEXITSTATUS(status) :
	    128 + WTERMSIG(status);
	if (out != NULL)
		*out = buf;
	else
		free(buf);
	return status;
}

/* run_tmux(), failing the test on a non-zero status. */
static char *
tmux_ok(struct tu_tmux *t, const char *const *args)
{
	char *out;
	int st = run_tmux(t, args, &out);

	cr_assert_eq(st, 0, "tmux %s: exit %d: %s", args[0], st, out);
	return out;
}

static void
kill_server(struct tu_tmux *t)
{
	static const char *const args[] = { "kill-server", NULL };
	char *out;

	run_tmux(t, args, &out);
	free(out);
}

static void
cleanup_at_exit(void)
{
	while (live != NULL)
		tu_tmux_stop(live);
}

static bool
have_terminfo(const char *name)
{
	const char *dirs[] = { "/usr/share/terminfo", "/lib/terminfo",
	    "/etc/terminfo" };

	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		char *p = xasprintf("%s/%c/%s", dirs[i], name[0], name);
		bool ok = access(p, R_OK) == 0;

		free(p);
		if (ok)
			return true;
	}
	return false;
}

struct tu_tmux *
tu_tmux_start(int cols, int rows, const char *const *argv)
{
	static bool registered;
	struct tu_tmux *t;
	const char *args[TMUX_ARGS_MAX];
	char w[16], h[16];
	size_t n = 0;
	const char *term;

	tu_require_tmux();
	if (!registered) {
		atexit(cleanup_at_exit);
		registered = true;
	}
	/*
	 * The pane's TERM: what tmux itself emulates.  Debian's ncurses-base
	 * has tmux-256color; without it (older systems) screen, which every
	 * ncurses has.  TERM=xterm-256color would claim keys and
	 * capabilities tmux does not have.
	 */
	term = have_terminfo("tmux-256color") ? "tmux-256color" : "screen";
	t = xcalloc(1, sizeof *t);
	t->dir = tu_tmpdir();
	t->sock = xasprintf("%s/tmux.sock", t->dir);
	t->status = xasprintf("%s/status", t->dir);
	snprintf(w, sizeof w, "%d", cols);
	snprintf(h, sizeof h, "%d", rows);
	/* No user configuration; options before the session so they hold
	 * for its first pane. */
	args[n++] = "-f";
	args[n++] = "/dev/null";
	args[n++] = "start-server";
	args[n++] = ";";
	args[n++] = "set-option";
	args[n++] = "-g";
	args[n++] = "default-terminal";
	args[n++] = term;
	args[n++] = ";";
	args[n++] = "set-option";
	args[n++] = "-g";
	args[n++] = "remain-on-exit";
	args[n++] = "on";
	args[n++] = ";";
	args[n++] = "set-option";
	args[n++] = "-g";
	args[n++] = "status";
	args[n++] = "off";
	args[n++] = ";";
	args[n++] = "set-option";
	args[n++] = "-g";
	args[n++] = "history-limit";
	args[n++] = "0";
	args[n++] = ";";
	args[n++] = "new-session";
	args[n++] = "-d";
	args[n++] = "-s";
	args[n++] = "t";
	args[n++] = "-x";
	args[n++] = w;
	args[n++] = "-y";
	args[n++] = h;
	/*
	 * The exit status goes to a file written by a shell around the
	 * program, not through tmux's #{pane_dead_status}: under load tmux
	 * 3.3a sometimes leaves the program a zombie it never reaps, and the
	 * status never comes.
	 */
	args[n++] = "--";
	args[n++] = "/bin/sh";
	args[n++] = "-c";
	args[n++] = "s=$1; shift; env LANG=C.UTF-8 LC_ALL=C.UTF-8 \"$@\"; "
	    "echo $? >\"$s.tmp\" && mv \"$s.tmp\" \"$s\"";
	args[n++] = "sh";
	args[n++] = t->status;
	for (size_t i = 0; argv[i] != NULL; i++) {
		cr_assert_lt(n, TMUX_ARGS_MAX - 1, "too many arguments");
		args[n++] = argv[i];
	}
	args[n] = NULL;
	/* The tmux client itself needs a TERM even when detached. */
	if (getenv("TERM") == NULL)
		setenv("TERM", "xterm-256color", 1);
	setenv("LANG", "C.UTF-8", 1);
	free(tmux_ok(t, args));
	t->next = live;
	live = t;
	return t;
}

void
tu_tmux_stop(struct tu_tmux *t)
{
	struct tu_tmux **pp;

	if (t == NULL)
		return;
	for (pp = &live; *pp != NULL; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	kill_server(t);
	tu_rmtree(t->dir);
	free(t->dir);
	free(t->sock);
	free(t->status);
	free(t);
}

void
tu_tmux_keys(struct tu_tmux *t, ...)
{
	const char *args[TMUX_ARGS_MAX] = { "send-keys", "-t", "t" };
	size_t n = 3;
	const char *k;
	va_list ap;

	va_start(ap, t);
	while ((k = va_arg(ap, const char *)) != NULL) {
		cr_assert_lt(n, TMUX_ARGS_MAX - 1, "too many keys");
		args[n++] = k;
	}
	va_end(ap);
	args[n] = NULL;
	free(tmux_ok(t, args));
}

void
tu_tmux_text(struct tu_tmux *t, const char *text)
{
	const char *args[] = { "send-keys", "-t", "t", "-l", "--", text, NULL };

	free(tmux_ok(t, args));
}

char *
tu_tmux_screen(struct tu_tmux *t)
{
	static const char *const args[] = { "capture-pane", "-p", "-t", "t",
	    NULL };

	return tmux_ok(t, args);
}

char *
tu_tmux_row(struct tu_tmux *t, int y)
{
	char *s = tu_tmux_screen(t), *p = s, *row;
	size_t len;

	for (int i = 0; i < y && p != NULL; i++)
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	if (p == NULL)
		p = "";
	len = strcspn(p, "\n");
	row = xmalloc(len + 1);
	memcpy(row, p, len);
	row[len] = '\0';
	free(s);
	return row;
}

static void
pause_poll(void)
{
	struct timespec ts = { 0, POLL_NS };

	nanosleep(&ts, NULL);
}

char *
tu_tmux_wait_until(struct tu_tmux *t, bool (*ok)(const char *, void *),
    void *arg, const char *what, int timeout_ms)
{
	long long end = now_ms() + timeout_ms;
	char *s;

	for (;;) {
		s = tu_tmux_screen(t);
		if (ok(s, arg))
			return s;
		if (now_ms() >= end)
			break;
		free(s);
		pause_poll();
	}
	cr_assert_fail("after %d ms the screen %s; it shows:\n%s", timeout_ms,
	    what, s);
	return NULL;
}

struct presence {
	const char	*text;
	bool		 present;
};

static bool
has_presence(const char *screen, void *arg)
{
	const struct presence *p = arg;

	return (strstr(screen, p->text) != NULL) == p->present;
}

static char *
wait_for(struct tu_tmux *t, const char *text, bool present, int timeout_ms)
{
	struct presence p = { text, present };
	char *what = xasprintf("%s \"%s\"", present ? "does not show" :
	    "still shows", text), *s;

	s = tu_tmux_wait_until(t, has_presence, &p, what, timeout_ms);
	free(what);
	return s;
}

char *
tu_tmux_wait(struct tu_tmux *t, const char *text, int timeout_ms)
{
	return wait_for(t, text, true, timeout_ms);
}

char *
tu_tmux_wait_gone(struct tu_tmux *t, const char *text, int timeout_ms)
{
	return wait_for(t, text, false, timeout_ms);
}

static bool
has_all(const char *screen, void *arg)
{
	const char *const *texts = arg;

	for (size_t i = 0; texts[i] != NULL; i++)
		if (strstr(screen, texts[i]) == NULL)
			return false;
	return true;
}

char *
tu_tmux_wait_all(struct tu_tmux *t, const char *const *texts, int timeout_ms)
{
	char *what = xstrdup("does not show all of"), *s;

	for (size_t i = 0; texts[i] != NULL; i++) {
		char *more = xasprintf("%s%s \"%s\"", what, i ? "," : "",
		    texts[i]);

		free(what);
		what = more;
	}
	s = tu_tmux_wait_until(t, has_all, (void *)texts, what, timeout_ms);
	free(what);
	return s;
}

/* The program's exit status once it has ended, else -1. */
static int
exit_status(struct tu_tmux *t)
{
	char *txt = tu_read_file(t->status, NULL);
	int st = -1;

	if (txt != NULL)
		st = atoi(txt);
	free(txt);
	return st;
}

bool
tu_tmux_alive(struct tu_tmux *t)
{
	return exit_status(t) < 0;
}

int
tu_tmux_wait_exit(struct tu_tmux *t, int timeout_ms)
{
	long long end = now_ms() + timeout_ms;
	char *screen;
	int st;

	while ((st = exit_status(t)) < 0) {
		if (now_ms() >= end) {
			screen = tu_tmux_screen(t);
			cr_assert_fail("after %d ms the program has not ended; "
			    "the screen:\n%s", timeout_ms, screen);
			free(screen);
		}
		pause_poll();
	}
	return st;
}

void
tu_tmux_resize(struct tu_tmux *t, int cols, int rows)
{
	char w[16], h[16];
	const char *args[] = { "resize-window", "-t", "t", "-x", w, "-y", h,
	    NULL };

	snprintf(w, sizeof w, "%d", cols);
	snprintf(h, sizeof h, "%d", rows);
	free(tmux_ok(t, args));
}
