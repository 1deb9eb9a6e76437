/*
 * tests/test_menu.c: gwadmin's menu end to end: the real binary in a
 * private tmux server (tests/tmux.h) on a fresh database per test, driven
 * by keys, checked by what the screen shows and by what the store holds
 * afterwards (gwadmin export).  Every wait is for a screen, never a sleep.
 *
 * Not the models' tests (test_ui.c) nor the views' (test_views.c): here
 * only what an administrator at the keyboard sees and gets.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <sys/wait.h>
#include <signal.h>
#include <poll.h>
#include <pty.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/profile.h"
#include "core/text.h"
#include "core/xmalloc.h"
#include "tests/servers.h"
#include "tests/testutil.h"
#include "tests/tmux.h"

#define TO		TU_TMUX_TIMEOUT_MS
#define CRUMB_SMTP	"Main menu > Connectivity > Internet protocols > MAIL > SMTP"
#define PASSWORD	"Pw-4-menu-test!"

static char *dir;
static char *db;
static struct tu_tmux *tm;
/* Text that must never be on any screen looked at (the password typed). */
static const char *never;

static void
setup(void)
{
	dir = tu_tmpdir();
	db = tu_db(dir, "gw.db");
	unsetenv("GWSMTP_DB");
	never = NULL;
}

static void
teardown(void)
{
	tu_tmux_stop(tm);
	tm = NULL;
	tu_rmtree(dir);
	free(dir);
	free(db);
}

TestSuite(menu, .init = setup, .fini = teardown);

/* gwadmin --db DB args... (NULL-terminated), stdin from in. */
static struct tu_run
vgw(const char *in, const char *dbpath, va_list ap)
{
	const char *argv[32] = { "--db", dbpath };
	struct tu_run r;
	size_t n = 2;

	while ((argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	tu_gwadmin(&r, in, argv);
	return r;
}

static struct tu_run
gw(const char *in, ...)
{
	struct tu_run r;
	va_list ap;

	va_start(ap, in);
	r = vgw(in, db, ap);
	va_end(ap);
	return r;
}

/* gw() on another database, asserting success; returns stdout. */
static char *
gw_db_ok(const char *dbpath, const char *in, ...)
{
	struct tu_run r;
	va_list ap;
	char *out;

	va_start(ap, in);
	r = vgw(in, dbpath, ap);
	va_end(ap);
	cr_assert_eq(r.status, 0, "gwadmin: exit %d\nstdout: %s\nstderr: %s",
	    r.status, r.out, r.err);
	out = xstrdup(r.out);
	tu_run_free(&r);
	return out;
}

static char *
export_of(const char *dbpath)
{
	return gw_db_ok(dbpath, NULL, "export", "--include-secrets", NULL);
}

/* The profile most tests edit: plain SMTP on 25, no authentication. */
static void
seed_relay(void)
{
	free(gw_db_ok(db, NULL, "set", "relay", "host=mail.example.org",
	    "tls=none", NULL));
}

static void
menu_open(int cols, int rows)
{
	const char *argv[] = { getenv("GWADMIN"), "--db", db, NULL };

	cr_assert_not_null(argv[0], "GWADMIN is not set (run under meson)");
	tm = tu_tmux_start(cols, rows, argv);
}

/* Checks screen s keeps the secret out; returns s. */
static char *
seen(char *s)
{
	if (never != NULL)
		cr_assert_null(strstr(s, never), "the password is on the "
		    "screen:\n%s", s);
	return s;
}

/* Waits for text and checks the screen keeps the secret out. */
static char *
see(const char *text)
{
	return seen(tu_tmux_wait(tm, text, TO));
}

/*
 * Waits for one screen showing every text at once (the assertions made
 * on a screen are made on the redraw they wait for, never on one caught
 * half-way), and checks it keeps the secret out.  What must be absent is
 * checked on the screen returned.
 */
#define see_all(...)	seen(tu_tmux_wait_all(tm, \
			    (const char *const[]){ __VA_ARGS__, NULL }, TO))

/* see_all(), for a screen that ok(screen, arg) accepts. */
static char *
see_until(bool (*ok)(const char *, void *), void *arg, const char *what)
{
	return seen(tu_tmux_wait_until(tm, ok, arg, what, TO));
}

static void
wait_for(const char *text)
{
	free(see(text));
}

static void
wait_gone(const char *text)
{
	free(tu_tmux_wait_gone(tm, text, TO));
}

static void
tabs(int n)
{
	while (n-- > 0)
		tu_tmux_keys(tm, "Tab", NULL);
}

/* Waits for gwadmin to end and checks it ended well. */
static void
assert_exit0(void)
{
	int st = tu_tmux_wait_exit(tm, TO);
	char *s;

	if (st != 0) {
		s = tu_tmux_screen(tm);
		cr_assert_fail("gwadmin exited with %d; the screen:\n%s", st, s);
	}
}

/* From the main menu to the SMTP screen by first letters and Enter. */
static void
to_smtp(void)
{
	wait_for("Connectivity");
	tu_tmux_keys(tm, "c", "Enter", NULL);
	wait_for(" Main menu > Connectivity\n");
	tu_tmux_keys(tm, "i", "Enter", NULL);
	wait_for(" Main menu > Connectivity > Internet protocols\n");
	tu_tmux_keys(tm, "m", "Enter", NULL);
	wait_for(" Main menu > Connectivity > Internet protocols > MAIL\n");
	tu_tmux_keys(tm, "s", "Enter", NULL);
	wait_for("Profiles (");
}

/* On the SMTP screen with relay loaded: Enter edits it (focus: Host). */
static void
edit_relay(void)
{
	wait_for("*relay");
	wait_for("mail.example.org");
	tu_tmux_keys(tm, "Enter", NULL);
	wait_for(">Host:");
}

/* From Host to the Advanced dialog. */
static void
open_advanced(void)
{
	tabs(7);	/* Port, Alt hosts, From, To, EHLO, Comment, Advanced */
	wait_for(">[ Advanced... ]");
	tu_tmux_keys(tm, "Enter", NULL);
	wait_for(CRUMB_SMTP " > Advanced");
	wait_for(">[ ] Use SSL/TLS");
}

/* Row y of screen s, as a new string. */
static char *
row_of(const char *s, int y)
{
	const char *p = s;
	size_t len;

	for (int i = 0; i < y && p != NULL; i++)
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	if (p == NULL)
		return xstrdup("");
	len = strcspn(p, "\n");
	return xstrndup(p, len);
}

/* The row holding text, or NULL. */
static char *
row_with(const char *s, const char *text, int *y)
{
	const char *hit = strstr(s, text), *p = s;
	int n = 0;

	if (hit == NULL)
		return NULL;
	for (; p < hit; p++)
		if (*p == '\n')
			n++;
	if (y != NULL)
		*y = n;
	return row_of(s, n);
}

static size_t
cols_of(const char *row)
{
	return text_utf8_length(row);
}

Test(menu, path_by_arrows_letters_and_breadcrumb)
{
	menu_open(80, 24);
	/* The menu and the status line with the keys, on one screen. */
	free(see_all("Main menu", "Connectivity", "F10 quit"));
	/* Down twice wraps back to the first item; Enter opens it. */
	tu_tmux_keys(tm, "Down", NULL);
	wait_for(">  Quit");
	tu_tmux_keys(tm, "Down", NULL);
	wait_for(">  Connectivity");
	tu_tmux_keys(tm, "Enter", NULL);
	wait_for(" Main menu > Connectivity\n");
	/* Right opens too. */
	tu_tmux_keys(tm, "Right", NULL);
	wait_for(" Main menu > Connectivity > Internet protocols\n");
	tu_tmux_keys(tm, "m", "Enter", NULL);
	wait_for(" Main menu > Connectivity > Internet protocols > MAIL\n");
	/* Esc goes back one level, the breadcrumb with it. */
	tu_tmux_keys(tm, "Escape", NULL);
	wait_for(" Main menu > Connectivity > Internet protocols\n");
	tu_tmux_keys(tm, "Enter", NULL);
	wait_for(" Main menu > Connectivity > Internet protocols > MAIL\n");
	tu_tmux_keys(tm, "s", "Enter", NULL);
	free(see_all(CRUMB_SMTP, "Profiles (0)", "[ Advanced... ]", "[ Test ]",
	    "[ Save ]", "[ Cancel ]"));
	/* Nothing changed: Esc back to the menu without a question. */
	tu_tmux_keys(tm, "Escape", NULL);
	wait_for(" Main menu > Connectivity > Internet protocols > MAIL\n");
	tu_tmux_keys(tm, "F10", NULL);
	assert_exit0();
}

Test(menu, quit_item_and_esc_at_the_root)
{
	menu_open(80, 24);
	wait_for("Connectivity");
	tu_tmux_keys(tm, "q", NULL);
	wait_for(">  Quit");
	tu_tmux_keys(tm, "Enter", NULL);
	assert_exit0();
}

/*
 * The scenario: tick Use SSL/TLS, pick Explicit and PLAIN, type
 * login and password, OK, Save, F10; the store then holds exactly what
 * `gwadmin set` would have written, the port moved from 25 to 587.
 */
Test(menu, explicit_plain_profile_from_the_menu)
{
	char *ref = tu_db(dir, "ref.db"), *got, *want, *s;

	seed_relay();
	never = PASSWORD;
	menu_open(80, 24);
	to_smtp();
	edit_relay();
	/* The port before. */
	free(see_all(">Host:", "[25 "));
	open_advanced();
	wait_for("Port: 25 ");
	tu_tmux_keys(tm, "Space", NULL);
	wait_for(">[x] Use SSL/TLS");
	wait_for("Port: 465 ");
	tu_tmux_keys(tm, "Tab", NULL);
	wait_for(">Mode:");
	tu_tmux_keys(tm, "Right", "Space", NULL);
	wait_for("( ) Implicit (\xe2\x80\xa2) Explicit");
	wait_for("Port: 587 ");
	tabs(6);	/* STARTTLS, verify, CA, fingerprint, minimum, auth */
	wait_for(">Authentication:");
	tu_tmux_keys(tm, "Right", "Space", NULL);
	wait_for("(\xe2\x80\xa2) PLAIN");
	tu_tmux_keys(tm, "Tab", NULL);
	wait_for(">Login:");
	tu_tmux_text(tm, "bob@example.org");
	wait_for("[bob@example.org ");
	tu_tmux_keys(tm, "Tab", NULL);
	wait_for(">Password:");
	tu_tmux_text(tm, PASSWORD);
	s = see("********");
	/* Neither the text nor its length. */
	cr_assert_null(strstr(s, "*********"), "%s", s);
	free(s);
	tabs(6);	/* timeout, retries, delays, connections, OK */
	wait_for(">[ OK ]");
	tu_tmux_keys(tm, "Enter", NULL);
	wait_for("Profile (modified)");
	s = see("[587 ");
	cr_assert_null(strstr(s, "> Advanced"), "%s", s);
	free(s);
	tabs(2);
	wait_for(">[ Save ]");
	tu_tmux_keys(tm, "Enter", NULL);
	wait_for("Saved profile 'relay'.");
	wait_gone("(modified)");
	tu_tmux_keys(tm, "F10", NULL);
	assert_exit0();

	free(gw_db_ok(ref, NULL, "set", "relay", "host=mail.example.org",
	    "tls=none", NULL));
	free(gw_db_ok(ref, PASSWORD "\n", "set", "relay", "tls=explicit",
	    "auth=plain", "username=bob@example.org", "--password-stdin",
	    NULL));
	got = export_of(db);
	want = export_of(ref);
	cr_assert(strstr(got, "\"port\": 587,"), "%s", got);
	cr_assert(strstr(got, "\"tls\": \"explicit\","), "%s", got);
	cr_assert(strstr(got, "\"auth\": \"plain\","), "%s", got);
	cr_assert(strstr(got, "\"username\": \"bob@example.org\","), "%s", got);
	cr_assert(strstr(got, "\"password\": \"" PASSWORD "\","), "%s", got);
	cr_assert_str_eq(got, want, "the menu stored\n%s\ngwadmin set "
	    "stores\n%s", got, want);
	free(got);
	free(want);
	free(ref);
}

Test(menu, add_a_profile)
{
	char *out;

	menu_open(80, 24);
	to_smtp();
	wait_for("Profiles (0)");
	tu_tmux_keys(tm, "IC", NULL);		/* Insert */
	wait_for("New profile");
	wait_for(">Name:");
	tu_tmux_text(tm, "fresh");
	tu_tmux_keys(tm, "Tab", NULL);
	wait_for(">[x] Active");
	tu_tmux_keys(tm, "Tab", NULL);
	wait_for(">Host:");
	tu_tmux_text(tm, "smtp.example.net");
	tu_tmux_keys(tm, "Tab", NULL);
	wait_for(">Port:");
	tabs(8);	/* alt, from, to, EHLO, comment, Advanced, Test, Save */
	wait_for(">[ Save ]");
	tu_tmux_keys(tm, "Enter", NULL);
	wait_for("Saved profile 'fresh'.");
	wait_for("Profiles (1)");
	tu_tmux_keys(tm, "F10", NULL);
	assert_exit0();
	out = gw_db_ok(db, NULL, "show", "fresh", NULL);
	cr_assert(strstr(out, "smtp.example.net"), "%s", out);
	cr_assert(strstr(out, "port                          465\n"), "%s", out);
	free(out);
}

/* The reason gwadmin set gives for KEY=VALUE on relay: "port: ...". */
static char *
set_refusal(const char *kv)
{
	struct tu_run r = gw(NULL, "set", "relay", kv, NULL);
	char *p, *msg;

	cr_assert_eq(r.status, 65, "gwadmin set %s: exit %d: %s", kv,
	    r.status, r.err);
	p = strstr(r.err, "': ");
	cr_assert_not_null(p, "%s", r.err);
	msg = xstrndup(p + 3, strcspn(p + 3, "\n"));
	tu_run_free(&r);
	return msg;
}

Test(menu, invalid_port_refused_with_gwadmin_set_words)
{
	char *before = NULL, *after, *msg;
	const char *bad[] = { "99999", "0" };

	seed_relay();
	before = export_of(db);
	menu_open(80, 24);
	to_smtp();
	edit_relay();
	tu_tmux_keys(tm, "Tab", NULL);
	wait_for(">Port:");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *kv = xasprintf("port=%s", bad[i]);
		char *field = xasprintf("[%s ", bad[i]);

		msg = set_refusal(kv);
		tu_tmux_keys(tm, "End", "BSpace", "BSpace", "BSpace", "BSpace",
		    "BSpace", "BSpace", NULL);
		wait_for("Port:      [ ");
		tu_tmux_text(tm, bad[i]);
		wait_for(field);
		tu_tmux_keys(tm, "Tab", NULL);
		/* Refused in place: the focus stays on the port. */
		free(see_all(msg, ">Port:"));
		/* Enter (next) and Save cannot get past it either. */
		tu_tmux_keys(tm, "Enter", NULL);
		tu_tmux_keys(tm, "Tab", NULL);
		free(see_all(msg, ">Port:"));
		free(kv);
		free(field);
		free(msg);
	}
	/* Letters are not even taken by the number field. */
	tu_tmux_keys(tm, "End", "BSpace", NULL);
	wait_for("[ ");
	tu_tmux_text(tm, "x");
	tu_tmux_keys(tm, "F10", NULL);
	wait_for("unsaved changes");
	tu_tmux_keys(tm, "d", NULL);		/* Discard */
	assert_exit0();
	after = export_of(db);
	cr_assert_str_eq(after, before, "the store changed:\n%s", after);
	free(before);
	free(after);
}

Test(menu, esc_with_unsaved_changes_asks)
{
	char *before, *after;

	seed_relay();
	before = export_of(db);
	menu_open(80, 24);
	to_smtp();
	edit_relay();
	tu_tmux_keys(tm, "End", NULL);
	tu_tmux_text(tm, "2");
	wait_for("[mail.example.org2 ");
	tu_tmux_keys(tm, "Tab", NULL);
	wait_for("Profile (modified)");
	/* Esc asks; Esc on the question is Cancel: still editing. */
	tu_tmux_keys(tm, "Escape", NULL);
	free(see_all("Profile 'relay' has unsaved changes.", "[ Save ]",
	    "[ Discard ]", "[ Cancel ]"));
	tu_tmux_keys(tm, "Escape", NULL);
	wait_gone("has unsaved changes");
	free(see_all(CRUMB_SMTP, "[mail.example.org2 "));
	/* Esc, Discard: back to the menu, nothing written. */
	tu_tmux_keys(tm, "Escape", NULL);
	wait_for("has unsaved changes");
	tu_tmux_keys(tm, "d", NULL);
	wait_for(" Main menu > Connectivity > Internet protocols > MAIL\n");
	after = export_of(db);
	cr_assert_str_eq(after, before, "Discard wrote:\n%s", after);
	free(after);
	/* Again, and F10 asks too; Save then quits. */
	tu_tmux_keys(tm, "Enter", NULL);
	edit_relay();
	tu_tmux_keys(tm, "End", NULL);
	tu_tmux_text(tm, "3");
	wait_for("[mail.example.org3 ");
	/* F10 while the host is still being typed: asks as well. */
	tu_tmux_keys(tm, "F10", NULL);
	wait_for("unsaved changes.");
	tu_tmux_keys(tm, "s", NULL);
	assert_exit0();
	after = export_of(db);
	cr_assert(strstr(after, "\"host\": \"mail.example.org3\","), "%s",
	    after);
	free(after);
	free(before);
}

/* The box's top row: its width in columns, and that it is closed. */
static void
assert_box_width(const char *s, size_t w)
{
	char *top = row_with(s, "\xe2\x94\x8c", NULL);	/* ┌ */
	const char *end;

	cr_assert_not_null(top, "no dialog box:\n%s", s);
	cr_assert_eq(cols_of(top), w, "the dialog is %zu wide, not %zu:\n%s",
	    cols_of(top), w, s);
	end = top + strlen(top) - 3;
	cr_assert(strcmp(end, "\xe2\x94\x90") == 0, "not closed: %s", top);
	free(top);
}

/*
 * Polls until the dialog box is redrawn w columns wide (after a resize
 * tmux first crops or pads the old screen).  Returns the screen.
 */
static char *
wait_box_width(size_t w)
{
	long long tries = 0;
	char *s, *top;

	for (;;) {
		s = tu_tmux_screen(tm);
		top = row_with(s, "\xe2\x94\x8c", NULL);
		if (top != NULL && cols_of(top) == w && strcmp(top +
		    strlen(top) - 3, "\xe2\x94\x90") == 0) {
			free(top);
			return s;
		}
		free(top);
		if (++tries * 2 >= TO)
			break;
		free(s);
		usleep(2000);
	}
	cr_assert_fail("no dialog %zu columns wide; the screen:\n%s", w, s);
	return NULL;
}

/* After the resize to 60x20: the dialog's last rows and its OK. */
static bool
shows_ok_and_plain(const char *s, void *arg)
{
	(void)arg;
	return strstr(s, "( ) PLAIN") != NULL && (strstr(s, "[OK]") != NULL ||
	    strstr(s, "[ OK ]") != NULL);
}

struct box_with {
	size_t			 width;
	const char *const	*texts;
};

/* The dialog box drawn b->width wide, closed, with every text of b. */
static bool
box_with_texts(const char *s, void *arg)
{
	const struct box_with *b = arg;
	char *top = row_with(s, "\xe2\x94\x8c", NULL);
	bool ok = top != NULL && cols_of(top) == b->width && strlen(top) >= 3 &&
	    strcmp(top + strlen(top) - 3, "\xe2\x94\x90") == 0;

	free(top);
	for (size_t i = 0; ok && b->texts[i] != NULL; i++)
		ok = strstr(s, b->texts[i]) != NULL;
	return ok;
}

Test(menu, resize_mid_dialog)
{
	char *s, *out;

	seed_relay();
	menu_open(80, 24);
	to_smtp();
	edit_relay();
	open_advanced();
	s = see("Port: 25 ");
	assert_box_width(s, 80);
	free(s);

	tu_tmux_resize(tm, 60, 20);
	free(wait_box_width(60));
	/* The border comes first; wait for the rest of the redraw. */
	free(see_until(shows_ok_and_plain, NULL, "shows no \"( ) PLAIN\" "
	    "with \"[OK]\" or \"[ OK ]\""));
	/* Still usable: Space ticks TLS, the port follows. */
	tu_tmux_keys(tm, "Space", NULL);
	wait_for("[x] Use SSL/TLS");
	wait_for("Port: 465");

	tu_tmux_resize(tm, 100, 30);
	s = wait_box_width(100);
	assert_box_width(s, 100);
	free(s);

	tu_tmux_resize(tm, 59, 19);
	wait_for("terminal too small");
	tu_tmux_resize(tm, 80, 24);
	wait_gone("terminal too small");
	/* The dialog kept its state, redrawn 80 wide. */
	{
		struct box_with b = { 80, (const char *const[]){
		    "[x] Use SSL/TLS", "Port: 465", NULL } };

		s = see_until(box_with_texts, &b, "shows no dialog 80 wide "
		    "with \"[x] Use SSL/TLS\" and \"Port: 465\"");
	}
	assert_box_width(s, 80);
	free(s);
	/* OK and Save from here: the change made at 60x20 is stored. */
	tabs(12);	/* mode, verify .. auth, timeout .. connections, OK */
	wait_for(">[ OK ]");
	tu_tmux_keys(tm, "Enter", NULL);
	wait_for("Profile (modified)");
	tabs(2);
	wait_for(">[ Save ]");
	tu_tmux_keys(tm, "Enter", NULL);
	wait_for("Saved profile 'relay'.");
	tu_tmux_keys(tm, "F10", NULL);
	assert_exit0();
	out = export_of(db);
	cr_assert(strstr(out, "\"tls\": \"implicit\","), "%s", out);
	cr_assert(strstr(out, "\"port\": 465,"), "%s", out);
	free(out);
}

Test(menu, too_small_says_so_and_f10_quits)
{
	char *s;

	menu_open(50, 15);
	free(see_all("terminal too small", "60x20"));
	tu_tmux_resize(tm, 80, 24);
	wait_for("Connectivity");
	tu_tmux_resize(tm, 60, 19);
	wait_for("terminal too small");
	/* Keys for the hidden menu do nothing: not even Quit, Enter. */
	tu_tmux_keys(tm, "q", "Enter", NULL);
	tu_tmux_resize(tm, 80, 24);
	wait_gone("terminal too small");
	s = see(">  Connectivity");
	cr_assert(tu_tmux_alive(tm), "gwadmin ended:\n%s", s);
	free(s);
	tu_tmux_resize(tm, 60, 19);
	wait_for("terminal too small");
	tu_tmux_keys(tm, "F10", NULL);
	assert_exit0();
}

/* On relay's Host (edit_relay()): a "2" typed at its end, unsaved. */
static void
change_host(void)
{
	tu_tmux_keys(tm, "End", NULL);
	tu_tmux_text(tm, "2");
	wait_for("[mail.example.org2 ");
}

/* Cancel on the unsaved-changes question: still running, still edited. */
static void
cancel_keeps_the_change(void)
{
	char *s;

	tu_tmux_keys(tm, "Escape", NULL);
	wait_gone("has unsaved changes");
	s = see_all(">Host:", "[mail.example.org2 ");
	cr_assert(tu_tmux_alive(tm), "%s", s);
	free(s);
}

/* gwadmin ended well, and the changed host is in the store. */
static void
assert_exit0_host_saved(void)
{
	char *out;

	assert_exit0();
	out = export_of(db);
	cr_assert(strstr(out, "\"host\": \"mail.example.org2\","), "%s", out);
	free(out);
}

/*
 * On the "terminal too small" screen keys for the hidden form change
 * nothing, and F10 asks before unsaved changes go, in a question shown
 * and answered on the small screen.
 */
Test(menu, too_small_keeps_the_form_and_f10_asks)
{
	char *s;

	seed_relay();
	menu_open(80, 24);
	to_smtp();
	edit_relay();
	change_host();
	tu_tmux_resize(tm, 59, 19);
	wait_for("terminal too small");
	tu_tmux_text(tm, "xyz");
	tu_tmux_keys(tm, "BSpace", "Tab", "Escape", "Enter", NULL);
	tu_tmux_keys(tm, "F10", NULL);
	s = see_all("Profile 'relay' has unsaved changes.", "[ Save ]",
	    "[ Discard ]", "[ Cancel ]");
	cr_assert(tu_tmux_alive(tm), "%s", s);
	free(s);
	/* Full size again: the same question over the untouched form. */
	tu_tmux_resize(tm, 80, 24);
	wait_gone("terminal too small");
	s = see_all(CRUMB_SMTP, "Profile 'relay' has unsaved changes.",
	    "[mail.example.org2 ");
	cr_assert_null(strstr(s, "xyz"), "keys went to the hidden form:\n%s",
	    s);
	free(s);
	cancel_keeps_the_change();
	/* Answered on the small screen: Save, then quit. */
	tu_tmux_resize(tm, 40, 10);
	wait_for("terminal too small");
	tu_tmux_keys(tm, "F10", NULL);
	wait_for("[ Discard ]");
	tu_tmux_keys(tm, "s", NULL);
	assert_exit0_host_saved();
}

/*
 * Ctrl-C is F10: with unsaved changes it asks (the menu is not killed),
 * Cancel keeps them, Save stores them.
 */
Test(menu, ctrl_c_asks_before_unsaved_changes_go)
{
	char *s;

	seed_relay();
	menu_open(80, 24);
	to_smtp();
	edit_relay();
	change_host();
	tu_tmux_keys(tm, "C-c", NULL);
	s = see("Profile 'relay' has unsaved changes.");
	cr_assert(tu_tmux_alive(tm), "%s", s);
	free(s);
	cancel_keeps_the_change();
	tu_tmux_keys(tm, "C-c", NULL);
	wait_for("has unsaved changes");
	tu_tmux_keys(tm, "s", NULL);
	assert_exit0_host_saved();
}

/* Ctrl-S is no flow control: the screen goes on following the keys. */
Test(menu, ctrl_s_does_not_freeze_the_screen)
{
	seed_relay();
	menu_open(80, 24);
	to_smtp();
	edit_relay();
	tu_tmux_keys(tm, "C-s", NULL);
	change_host();
	tu_tmux_keys(tm, "C-s", "Tab", NULL);
	wait_for(">Port:");
	tu_tmux_keys(tm, "F10", NULL);
	wait_for("has unsaved changes");
	tu_tmux_keys(tm, "d", NULL);
	assert_exit0();
}

/*
 * gwadmin in a shell that records the terminal's modes (stty -g) before
 * it and, once it has ended, prints stty -a and whether the modes are
 * the same again: what an administrator back at the shell would check.  gwadmin's pid goes to
 * pidfile (written before it runs: exec keeps the pid).
 */
static void
menu_open_in_shell(const char *pidfile)
{
	static const char script[] =
	    "p=$1; shift; before=$(stty -g); "
	    "sh -c 'echo $$ >\"$0\" && exec \"$@\"' \"$p\" \"$@\"; s=$?; "
	    "stty -a; if [ \"$(stty -g)\" = \"$before\" ]; then "
	    "echo 'terminal: restored'; else echo 'terminal: changed'; fi; "
	    "exit $s";
	const char *argv[] = { "/bin/sh", "-c", script, "sh", pidfile,
	    getenv("GWADMIN"), "--db", db, NULL };

	cr_assert_not_null(argv[5], "GWADMIN is not set (run under meson)");
	tm = tu_tmux_start(80, 24, argv);
}

/*
 * While the menu runs Ctrl-S is a key (no freeze); however it ends (F10,
 * Ctrl-C with nothing unsaved, SIGTERM, SIGHUP), the terminal is left as
 * it was found: flow control and the interrupt key back.
 */
/* The shell around the menu has said whether the modes came back. */
static bool
shell_said(const char *s, void *arg)
{
	(void)arg;
	return strstr(s, "terminal: restored") != NULL ||
	    strstr(s, "terminal: changed") != NULL;
}

Test(menu, terminal_modes_restored_on_every_way_out)
{
	static const char *const ways[] = { "F10", "C-c", "SIGTERM",
	    "SIGHUP" };
	char *pidfile = xasprintf("%s/gwadmin.pid", dir), *s, *txt;

	for (size_t i = 0; i < sizeof ways / sizeof ways[0]; i++) {
		int st;

		menu_open_in_shell(pidfile);
		wait_for(">  Connectivity");
		tu_tmux_keys(tm, "C-s", "Down", NULL);
		wait_for(">  Quit");
		if (strncmp(ways[i], "SIG", 3) != 0)
			tu_tmux_keys(tm, ways[i], NULL);
		else {
			txt = tu_read_file(pidfile, NULL);
			cr_assert_not_null(txt, "no %s", pidfile);
			cr_assert_eq(kill(atoi(txt), strcmp(ways[i],
			    "SIGTERM") == 0 ? SIGTERM : SIGHUP), 0, "kill %s",
			    txt);
			free(txt);
		}
		st = tu_tmux_wait_exit(tm, TO);
		/* The shell's last line, then what stty -a printed. */
		s = see_until(shell_said, NULL, "shows no \"terminal: "
		    "restored\" nor \"terminal: changed\"");
		cr_assert(strstr(s, "terminal: restored"), "after %s:\n%s",
		    ways[i], s);
		free(s);
		s = see_all("terminal: restored", " ixon ", "intr = ^C;");
		if (strncmp(ways[i], "SIG", 3) != 0)
			cr_assert_eq(st, 0, "%s: exit %d\n%s", ways[i], st, s);
		free(s);
		tu_tmux_stop(tm);
		tm = NULL;
		unlink(pidfile);
	}
	free(pidfile);
}

/*
 * Test against aiosmtpd in STARTTLS mode with AUTH PLAIN: the stored
 * password is wrong, the one typed in Advanced (not saved) is right, so
 * "accepted" proves the probe used the settings on screen.
 */
Test(menu, test_button_reports_tls_and_auth)
{
	struct tu_server *srv;
	char *ca = tu_cert("ca.pem"), *cert = tu_cert("good.pem");
	char *key = tu_cert("good-key.pem"), *kv_port, *kv_ca, *after;
	char *before;
	const char *sargs[] = { "--mode", "starttls", "--cert", cert, "--key",
	    key, "--auth", "--user", "bob", "--password", PASSWORD,
	    "--mechanisms", "PLAIN", NULL };

	srv = tu_server_start("smtpd.py", sargs);
	kv_port = xasprintf("port=%d", tu_server_port(srv));
	kv_ca = xasprintf("ca_file=%s", ca);
	free(gw_db_ok(db, "wrong-password\n", "set", "relay", "host=127.0.0.1",
	    kv_port, "tls=explicit", kv_ca, "auth=plain", "username=bob",
	    "timeout=10", "--password-stdin", NULL));
	before = export_of(db);
	never = PASSWORD;
	menu_open(80, 24);
	to_smtp();
	wait_for("*relay");
	wait_for("127.0.0.1");
	tu_tmux_keys(tm, "Enter", NULL);
	wait_for(">Host:");
	tabs(7);
	wait_for(">[ Advanced... ]");
	tu_tmux_keys(tm, "Enter", NULL);
	wait_for(">[x] Use SSL/TLS");
	tabs(9);	/* mode .. auth, login, password */
	wait_for(">Password:");
	tu_tmux_text(tm, PASSWORD);
	tabs(6);
	wait_for(">[ OK ]");
	tu_tmux_keys(tm, "Enter", NULL);
	wait_for("Profile (modified)");
	tu_tmux_keys(tm, "Tab", NULL);
	wait_for(">[ Test ]");
	tu_tmux_keys(tm, "Enter", NULL);
	wait_for("Test of profile 'relay'");
	/*
	 * The report: a TLS version, the verification, PLAIN offered, the
	 * typed password accepted (it was used), the result.
	 */
	free(see_all("Done.", "tls                    TLS1.", "verification",
	    "auth offered           PLAIN",
	    "authentication         plain accepted",
	    "result                 ok"));
	tu_tmux_keys(tm, "Escape", NULL);
	wait_gone("Done.");
	tu_tmux_keys(tm, "F10", NULL);
	wait_for("unsaved changes");
	tu_tmux_keys(tm, "d", NULL);
	assert_exit0();
	/* Test saved nothing. */
	after = export_of(db);
	cr_assert_str_eq(after, before, "Test wrote:\n%s", after);
	tu_server_stop(srv);
	free(after);
	free(before);
	free(kv_port);
	free(kv_ca);
	free(ca);
	free(cert);
	free(key);
}

Test(menu, stale_edit_reported_on_save)
{
	char *s, *out;

	seed_relay();
	menu_open(80, 24);
	to_smtp();
	edit_relay();
	tu_tmux_keys(tm, "End", NULL);
	tu_tmux_text(tm, "2");
	tu_tmux_keys(tm, "Tab", NULL);
	wait_for("Profile (modified)");
	/* Another program changes the profile meanwhile. */
	free(gw_db_ok(db, NULL, "set", "relay", "comment=changed elsewhere",
	    NULL));
	tabs(8);	/* alt .. comment, Advanced, Test, Save */
	wait_for(">[ Save ]");
	tu_tmux_keys(tm, "Enter", NULL);
	free(see_all("changed by another program", "[ Reload ]",
	    "[ Keep editing ]"));
	/* Not overwritten. */
	out = export_of(db);
	cr_assert(strstr(out, "\"host\": \"mail.example.org\","), "%s", out);
	cr_assert(strstr(out, "\"comment\": \"changed elsewhere\""), "%s", out);
	free(out);
	/* Reload shows the other program's version. */
	tu_tmux_keys(tm, "Enter", NULL);
	s = see_all("[changed elsewhere ", "[mail.example.org ");
	cr_assert_null(strstr(s, "(modified)"), "%s", s);
	free(s);
	tu_tmux_keys(tm, "F10", NULL);
	assert_exit0();
}

/*
 * Store text the menu shows, with what validation lets through: a C1
 * control (the 8-bit CSI, valid UTF-8) and double-width characters.  The
 * CSI is shown escaped; wide text stays inside its field.
 */
Test(menu, unusual_store_text_displays_safely)
{
	static const char json[] =
	    "{\"profiles\": ["
	    "{\"name\": \"a-c1\", \"host\": \"mail.example.org\","
	    " \"comment\": \"\\u009b31mRED\"},"
	    "{\"name\": \"b-wide\", \"host\": \"mail.example.org\","
	    " \"comment\": \"\\u6f22\\u5b57\\u6f22\\u5b57\\u6f22\\u5b57"
	    "\\u6f22\\u5b57\\u6f22\\u5b57\\u6f22\\u5b57\\u6f22\\u5b57"
	    "\\u6f22\\u5b57\\u6f22\\u5b57\\u6f22\\u5b57\\u6f22\\u5b57"
	    "\\u6f22\\u5b57\\u6f22\\u5b57\\u6f22\\u5b57 end\"}]}";
	char *path = xasprintf("%s/in.json", dir), *s, *row, *next;
	int y;

	tu_write_file(path, json, sizeof json - 1);
	free(gw_db_ok(db, NULL, "import", path, NULL));
	menu_open(80, 24);
	to_smtp();
	wait_for("*a-c1");
	s = see("\\u009b31mRED");
	cr_assert_null(strstr(s, "\xc2\x9b"), "a raw C1 CSI:\n%s", s);
	free(s);
	tu_tmux_keys(tm, "Down", "Enter", NULL);
	s = see("*b-wide");
	row = row_with(s, "Comment:", &y);
	cr_assert_not_null(row, "%s", s);
	/* The field is 80 columns wide at most and closed by its ']'. */
	cr_assert(strlen(row) > 0 && row[strlen(row) - 1] == ']',
	    "the comment runs out of its field:\n%s", s);
	next = row_of(s, y + 1);
	cr_assert(strncmp(next, "                            \xe2\x94\x82",
	    28 + 3) == 0, "the comment spills onto the next row:\n%s", s);
	free(next);
	free(row);
	free(s);
	free(path);
	tu_tmux_keys(tm, "F10", NULL);
	assert_exit0();
}

/*
 * Delete asks first: Cancel keeps the profile in the store, Delete
 * removes it, and the list follows.
 */
Test(menu, delete_asks_and_only_then_deletes)
{
	struct tu_run r;
	char *out;

	seed_relay();
	free(gw_db_ok(db, NULL, "set", "spare", "host=spare.example.org",
	    NULL));
	menu_open(80, 24);
	to_smtp();
	wait_for("Profiles (2)");
	wait_for(">Profiles");
	tu_tmux_keys(tm, "DC", NULL);		/* Delete, on the first: relay */
	wait_for("Delete profile 'relay'?");
	wait_for("[ Cancel ]");
	tu_tmux_keys(tm, "Escape", NULL);	/* Cancel */
	wait_gone("Delete profile 'relay'?");
	out = gw_db_ok(db, NULL, "show", "relay", NULL);
	cr_assert(strstr(out, "mail.example.org"), "%s", out);
	free(out);
	tu_tmux_keys(tm, "DC", NULL);
	wait_for("Delete profile 'relay'?");
	tu_tmux_keys(tm, "Enter", NULL);	/* Delete: the default */
	wait_for("Deleted profile 'relay'.");
	wait_for("Profiles (1)");
	r = gw(NULL, "show", "relay", NULL);
	cr_assert_neq(r.status, 0, "relay is still stored:\n%s", r.out);
	tu_run_free(&r);
	out = gw_db_ok(db, NULL, "show", "spare", NULL);
	cr_assert(strstr(out, "spare.example.org"), "%s", out);
	free(out);
	tu_tmux_keys(tm, "F10", NULL);
	assert_exit0();
}

/* F1 shows the focused field's help: the words of profile_key_help(). */
Test(menu, f1_helps_with_the_focused_field)
{
	char *want;

	seed_relay();
	menu_open(80, 24);
	to_smtp();
	edit_relay();
	tu_tmux_keys(tm, "F1", NULL);
	wait_for("\xe2\x94\x80 Help ");	/* the box's title, on its line */
	want = xstrndup(profile_key_help(PROFILE_KEY_HOST), 24);
	wait_for(want);
	free(want);
	tu_tmux_keys(tm, "Enter", NULL);
	wait_gone(" Help ");
	tu_tmux_keys(tm, "Tab", NULL);
	wait_for(">Port:");
	tu_tmux_keys(tm, "F1", NULL);
	want = xstrndup(profile_key_help(PROFILE_KEY_PORT), 24);
	wait_for(want);
	free(want);
	tu_tmux_keys(tm, "Escape", NULL);
	wait_gone(" Help ");
	tu_tmux_keys(tm, "F10", NULL);
	assert_exit0();
}

/* A listening socket nobody accepts on: connects, never a greeting. */
static int
silent_server(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_geq(fd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	cr_assert_eq(listen(fd, 8), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}


/*
 * Test against a server that never answers: the screen stays alive (a
 * resize is redrawn, the report scrolls) and Esc ends the probe long
 * before its 120 s timeout.
 */
Test(menu, test_of_a_silent_server_is_cancelled_by_esc)
{
	int port, fd = silent_server(&port);
	char *kv_port = xasprintf("port=%d", port);
	long t0;

	free(gw_db_ok(db, NULL, "set", "relay", "host=127.0.0.1", kv_port,
	    "tls=none", "timeout=120", NULL));
	menu_open(80, 24);
	to_smtp();
	wait_for("*relay");
	wait_for("127.0.0.1");
	tu_tmux_keys(tm, "Enter", NULL);
	wait_for(">Host:");
	tabs(8);
	wait_for(">[ Test ]");
	t0 = tu_now_ms();
	tu_tmux_keys(tm, "Enter", NULL);
	wait_for("Test of profile 'relay'");
	wait_for("Testing... (Esc cancels)");
	wait_for("Esc cancel the test");
	/* Still drawing while the probe waits. */
	tu_tmux_resize(tm, 70, 22);
	wait_for("Testing... (Esc cancels)");
	free(tu_tmux_wait(tm, "Esc cancel", TO));
	tu_tmux_keys(tm, "Escape", NULL);
	wait_for("cancelled");
	wait_for("Done.  Esc closes.");
	cr_assert_lt(tu_now_ms() - t0, 20000, "Esc did not end the probe");
	tu_tmux_keys(tm, "Escape", NULL);
	wait_gone("Test of profile");
	wait_for(">[ Test ]");
	tu_tmux_keys(tm, "F10", NULL);
	assert_exit0();
	close(fd);
	free(kv_port);
}

/*
 * The "done when": an implicit-TLS PLAIN profile configured from
 * the menu alone (a new profile, nothing prepared with gwadmin set), and
 * the engine sends with it.
 */
Test(menu, implicit_plain_profile_from_the_menu_alone_then_the_engine_sends)
{
	struct tu_server *srv;
	char *ca = tu_cert("ca.pem"), *cert = tu_cert("good.pem");
	char *key = tu_cert("good-key.pem"), *mail = xasprintf("%s/mail", dir);
	char *port, *eml, *text;
	const char *sargs[] = { "--mode", "implicit", "--cert", cert, "--key",
	    key, "--auth", "--user", "bob", "--password", PASSWORD,
	    "--maildir", mail, NULL };
	struct tu_run r;

	srv = tu_server_start("smtpd.py", sargs);
	port = xasprintf("%d", tu_server_port(srv));
	never = PASSWORD;
	menu_open(80, 24);
	to_smtp();
	wait_for("Profiles (0)");
	tu_tmux_keys(tm, "IC", NULL);
	wait_for(">Name:");
	tu_tmux_text(tm, "corp");
	tabs(2);
	wait_for(">Host:");
	tu_tmux_text(tm, "localhost");
	tu_tmux_keys(tm, "Tab", NULL);
	wait_for(">Port:");
	tu_tmux_keys(tm, "BSpace", "BSpace", "BSpace", "BSpace", NULL);
	tu_tmux_text(tm, port);
	tabs(2);
	wait_for(">From:");
	tu_tmux_text(tm, "gw@example.com");
	tu_tmux_keys(tm, "Tab", NULL);
	wait_for(">To:");
	tu_tmux_text(tm, "ops@example.com");
	tabs(3);	/* EHLO, comment, Advanced */
	wait_for(">[ Advanced... ]");
	tu_tmux_keys(tm, "Enter", NULL);
	/* A new profile starts with Use SSL/TLS ticked, implicit. */
	wait_for(">[x] Use SSL/TLS");
	wait_for("(\xe2\x80\xa2) Implicit");
	tabs(3);	/* mode, verify, CA file (STARTTLS does not apply) */
	wait_for(">CA file:");
	tu_tmux_text(tm, ca);
	tabs(3);	/* fingerprint, minimum TLS, authentication */
	wait_for(">Authentication:");
	tu_tmux_keys(tm, "Right", "Space", NULL);
	wait_for("(\xe2\x80\xa2) PLAIN");
	tu_tmux_keys(tm, "Tab", NULL);
	wait_for(">Login:");
	tu_tmux_text(tm, "bob");
	tu_tmux_keys(tm, "Tab", NULL);
	wait_for(">Password:");
	tu_tmux_text(tm, PASSWORD);
	tabs(6);
	wait_for(">[ OK ]");
	tu_tmux_keys(tm, "Enter", NULL);
	wait_gone("> Advanced");
	tabs(2);	/* Test, Save */
	wait_for(">[ Save ]");
	tu_tmux_keys(tm, "Enter", NULL);
	wait_for("Saved profile 'corp'.");
	tu_tmux_keys(tm, "F10", NULL);
	assert_exit0();

	{
		const char *argv[] = { getenv("GWENGINE"), "--db", db, "send",
		    "--profile", "corp", "--subject", "from the menu", NULL };

		cr_assert_not_null(argv[0], "GWENGINE is not set");
		tu_run_cmd(&r, "configured in the menu\n", argv);
	}
	cr_assert_eq(r.status, 0, "gwengine send: exit %d\n%s", r.status,
	    r.err);
	cr_assert(strstr(r.err, "tls=TLS1."), "%s", r.err);
	cr_assert(strstr(r.err, "auth=plain"), "%s", r.err);
	cr_assert_null(strstr(r.err, PASSWORD));
	tu_run_free(&r);
	eml = xasprintf("%s/0001.eml", mail);
	text = tu_read_file(eml, NULL);
	cr_assert_not_null(text, "nothing reached the server");
	cr_assert(strstr(text, "configured in the menu"), "%s", text);
	cr_assert(strstr(text, "To: ops@example.com"), "%s", text);
	free(text);
	free(eml);
	tu_server_stop(srv);
	free(port);
	free(mail);
	free(ca);
	free(cert);
	free(key);
}

/*
 * A menu whose terminal goes away (closed, hung up, SIGHUP ignored as
 * under nohup) ends instead of spinning on a dead terminal.
 */
Test(menu, exits_when_its_terminal_goes_away)
{
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	char buf[4096], *seen = xstrdup("");
	int master, status = 0;
	bool exited = false;
	pid_t pid;

	pid = forkpty(&master, NULL, NULL, &ws);
	cr_assert(pid != -1, "forkpty: %s", strerror(errno));
	if (pid == 0) {
		signal(SIGHUP, SIG_IGN);
		setenv("TERM", "xterm", 1);
		execl(getenv("GWADMIN"), "gwadmin", "--db", db, (char *)NULL);
		_exit(127);
	}
	/* The first screen, within 10 s. */
	for (int i = 0; i < 100 && strstr(seen, "Connectivity") == NULL; i++) {
		struct pollfd pfd = { master, POLLIN, 0 };
		ssize_t n;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if ((n = read(master, buf, sizeof buf - 1)) <= 0)
			break;
		buf[n] = '\0';
		{
			char *more = xasprintf("%s%s", seen, buf);

			free(seen);
			seen = more;
		}
	}
	cr_assert(strstr(seen, "Connectivity"), "no menu on the pty:\n%s", seen);
	free(seen);
	close(master);
	for (int i = 0; i < 100 && !exited; i++) {
		struct timespec tick = { 0, 100000000 };

		if (waitpid(pid, &status, WNOHANG) == pid)
			exited = true;
		else
			nanosleep(&tick, NULL);
	}
	if (!exited) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	cr_assert(exited, "gwadmin still ran 10 s after its terminal closed");
}
