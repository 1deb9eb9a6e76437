/*
 * tests/test_servers.c: the test infrastructure itself: smtpd.py delivers
 * in every TLS mode and AUTH mechanism, each certificate from make_certs.sh
 * has the property its name claims, and each badsmtp.py scenario
 * misbehaves exactly as documented.  The clients here are Python's smtplib,
 * gnutls-cli and a bare socket, never the engine: these tests must hold
 * whatever state the engine is in.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "core/xmalloc.h"
#include "tests/servers.h"
#include "tests/testutil.h"

static char *dir;
static struct tu_server *srv;

static void
setup(void)
{
	dir = tu_tmpdir();
	srv = NULL;
}

static void
teardown(void)
{
	tu_server_stop(srv);
	tu_rmtree(dir);
	free(dir);
}

TestSuite(smtpd, .init = setup, .fini = teardown);
TestSuite(certs, .init = setup, .fini = teardown);
TestSuite(badsmtp, .init = setup, .fini = teardown);

/* dir/name; caller frees. */
static char *
in_dir(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

/* Reads dir/name, failing the test if it is absent.  Caller frees. */
static char *
read_in_dir(const char *name, size_t *len)
{
	char *path = in_dir(name), *data = tu_read_file(path, len);

	cr_assert_not_null(data, "%s was not written", path);
	free(path);
	return data;
}

#define MAX_ARGS 40

/* Appends the NULL-terminated extra to args (of n entries); returns n. */
static size_t
add_args(const char **args, size_t n, const char *const *extra)
{
	while (extra != NULL && *extra != NULL) {
		cr_assert(n < MAX_ARGS - 1);
		args[n++] = *extra++;
	}
	args[n] = NULL;
	return n;
}

/*
 * smtpd.py --mode mode with the good certificate, --maildir dir/mail and
 * --log dir/log, plus extra.
 */
static void
start_smtpd(const char *mode, const char *const *extra)
{
	char *cert = tu_cert("good.pem"), *key = tu_cert("good-key.pem");
	char *mail = in_dir("mail"), *log = in_dir("log");
	const char *args[MAX_ARGS] = { "--mode", mode, "--cert", cert, "--key", key,
	    "--maildir", mail, "--log", log };

	add_args(args, 10, extra);
	srv = tu_server_start("smtpd.py", args);
	free(cert);
	free(key);
	free(mail);
	free(log);
}

static void
start_bad(const char *scenario, const char *const *extra)
{
	char *cert = tu_cert("good.pem"), *key = tu_cert("good-key.pem");
	char *log = in_dir("log");
	const char *args[MAX_ARGS] = { "--scenario", scenario, "--cert", cert,
	    "--key", key, "--log", log };

	add_args(args, 8, extra);
	srv = tu_server_start("badsmtp.py", args);
	free(cert);
	free(key);
	free(log);
}

/* ---------------------------------------------------------------- smtpd */

/*
 * Python's smtplib as the client: argv mode port mech cafile msgfile
 * password.  Prints "AUTH <code>" and "SENT <refused recipients>".
 */
static const char client_py[] =
    "import base64, smtplib, ssl, sys\n"
    "mode, port, mech, ca, msgfile, password = sys.argv[1:7]\n"
    "msg = open(msgfile, 'rb').read()\n"
    "ctx = ssl.create_default_context(cafile=ca)\n"
    "if mode == 'implicit':\n"
    "    s = smtplib.SMTP_SSL('localhost', int(port), context=ctx, timeout=30)\n"
    "else:\n"
    "    s = smtplib.SMTP('localhost', int(port), timeout=30)\n"
    "s.ehlo()\n"
    "if mode == 'starttls':\n"
    "    s.starttls(context=ctx)\n"
    "    s.ehlo()\n"
    "s.user, s.password = 'user', password\n"
    "if mech == 'PLAIN':\n"
    "    code, _ = s.auth('PLAIN', s.auth_plain)\n"
    "elif mech == 'LOGIN':\n"
    "    code, _ = s.auth('LOGIN', s.auth_login, initial_response_ok=False)\n"
    "elif mech == 'ANONYMOUS':\n"
    "    code, _ = s.docmd('AUTH', 'ANONYMOUS ' + base64.b64encode(b'trace@example').decode())\n"
    "else:\n"
    "    code = 0\n"
    "print('AUTH', code)\n"
    "refused = s.sendmail('from@example.org', ['to1@example.net', 'to2@example.net'], msg)\n"
    "print('SENT', refused)\n"
    "s.quit()\n";

/* Dot-stuffing, a lone ".", 8-bit text and a 998-octet line. */
static char *
test_message(size_t *len)
{
	char longline[999], *msg;

	memset(longline, 'x', 998);
	longline[998] = '\0';
	msg = xasprintf("From: <from@example.org>\r\n"
	    "To: <to1@example.net>, <to2@example.net>\r\n"
	    "Subject: byte for byte\r\n"
	    "\r\n"
	    ".leading dot\r\n"
	    ".\r\n"
	    "..two dots\r\n"
	    "8-bit: caf\xc3\xa9\r\n"
	    "%s\r\n"
	    "last line\r\n", longline);

	*len = strlen(msg);
	return msg;
}

static void
deliver(const char *mode, const char *mech)
{
	char port[16], *ca = tu_cert("ca.pem"), *msgfile = in_dir("msg");
	size_t len, got_len;
	char *msg = test_message(&len), *got, *meta;
	struct tu_run r;

	start_smtpd(mode, (const char *const[]){ "--auth", NULL });
	tu_write_file(msgfile, msg, len);
	snprintf(port, sizeof port, "%d", tu_server_port(srv));
	tu_run_cmd(&r, NULL, (const char *const[]){ TU_PYTHON, "-c", client_py,
	    mode, port, mech, ca, msgfile, "secret", NULL });
	cr_assert_eq(r.status, 0, "client failed: %s%s", r.out, r.err);
	if (strcmp(mech, "none") != 0)
		cr_assert(strstr(r.out, "AUTH 235\n") != NULL, "%s", r.out);
	cr_assert(strstr(r.out, "SENT {}\n") != NULL, "%s", r.out);

	got = read_in_dir("mail/0001.eml", &got_len);
	cr_assert_eq(got_len, len, "stored %zu octets, sent %zu", got_len, len);
	cr_assert(memcmp(got, msg, len) == 0, "stored message differs:\n%s", got);
	meta = read_in_dir("mail/0001.json", NULL);
	cr_expect(strstr(meta, "\"mail_from\": \"from@example.org\"") != NULL, "%s", meta);
	cr_expect(strstr(meta, "\"rcpt_tos\": [\"to1@example.net\", \"to2@example.net\"]")
	    != NULL, "%s", meta);
	cr_expect(strstr(meta, strcmp(mode, "plain") == 0 ? "\"tls\": false" :
	    "\"tls\": true") != NULL, "%s", meta);
	if (strcmp(mech, "none") == 0) {
		cr_expect(strstr(meta, "\"auth_mechanism\": null") != NULL, "%s", meta);
	} else {
		char *want = xasprintf("\"auth_mechanism\": \"%s\"", mech);

		cr_expect(strstr(meta, want) != NULL, "%s", meta);
		free(want);
	}
	if (strcmp(mech, "ANONYMOUS") == 0)
		cr_expect(strstr(meta, "\"auth_trace\": \"trace@example\"") != NULL, "%s", meta);
	else if (strcmp(mech, "none") != 0)
		cr_expect(strstr(meta, "\"auth_login\": \"user\"") != NULL, "%s", meta);
	cr_expect(strstr(meta, "\"peer\": [\"127.0.0.1\", ") != NULL, "%s", meta);
	free(meta);
	free(got);
	tu_run_free(&r);
	free(msg);
	free(msgfile);
	free(ca);
}

#define DELIVERY(mode, mech) \
	Test(smtpd, deliver_##mode##_##mech) { deliver(#mode, #mech); }

DELIVERY(plain, none)
DELIVERY(plain, PLAIN)
DELIVERY(plain, LOGIN)
DELIVERY(plain, ANONYMOUS)
DELIVERY(starttls, none)
DELIVERY(starttls, PLAIN)
DELIVERY(starttls, LOGIN)
DELIVERY(starttls, ANONYMOUS)
DELIVERY(implicit, none)
DELIVERY(implicit, PLAIN)
DELIVERY(implicit, LOGIN)
DELIVERY(implicit, ANONYMOUS)

/* On an open, greeted, EHLOed connection: MAIL, RCPT and DATA, answered. */
static void
begin_data(int fd)
{
	char *rep;

	rep = tu_smtp_cmd(fd, "MAIL FROM:<a@example.org>");
	cr_assert(strncmp(rep, "250", 3) == 0, "MAIL: %s", rep);
	free(rep);
	rep = tu_smtp_cmd(fd, "RCPT TO:<b@example.net>");
	cr_assert(strncmp(rep, "250", 3) == 0, "RCPT: %s", rep);
	free(rep);
	rep = tu_smtp_cmd(fd, "DATA");
	cr_assert(strncmp(rep, "354", 3) == 0, "DATA: %s", rep);
	free(rep);
}

/* begin_data(), then the message "Subject: raw": sent and stored. */
static void
raw_transaction(int fd)
{
	char *rep;

	begin_data(fd);
	rep = tu_smtp_cmd(fd, "Subject: raw\r\n\r\nbody\r\n.");
	cr_assert(strncmp(rep, "250", 3) == 0, "end of data: %s", rep);
	free(rep);
}

/* Connects and reads the greeting; returns the socket. */
static int
greeted(void)
{
	int fd = tu_connect(tu_server_port(srv));
	char *rep = tu_smtp_reply(fd, NULL);

	cr_assert_not_null(rep, "no greeting");
	cr_assert(strncmp(rep, "220 ", 4) == 0, "greeting: %s", rep);
	free(rep);
	return fd;
}

Test(smtpd, plain_auth_over_plain_text_and_wrong_password)
{
	int fd;
	char *rep, *log;

	start_smtpd("plain", (const char *const[]){ "--auth", NULL });
	fd = greeted();
	rep = tu_smtp_cmd(fd, "EHLO client.example");
	cr_assert(strstr(rep, "250-AUTH ANONYMOUS LOGIN PLAIN\r\n") != NULL, "%s", rep);
	cr_assert(strstr(rep, "STARTTLS") == NULL, "%s", rep);
	free(rep);
	rep = tu_smtp_cmd(fd, "AUTH PLAIN AHVzZXIAd3Jvbmc=");	/* user, wrong */
	cr_assert(strncmp(rep, "535 ", 4) == 0, "%s", rep);
	free(rep);
	rep = tu_smtp_cmd(fd, "AUTH LOGIN dXNlcg==");		/* user */
	/* aiosmtpd's challenge is "Password\0", not the usual "Password:". */
	cr_assert(strncmp(rep, "334 ", 4) == 0, "%s", rep);
	free(rep);
	rep = tu_smtp_cmd(fd, "c2VjcmV0");			/* secret */
	cr_assert(strncmp(rep, "235 ", 4) == 0, "%s", rep);
	free(rep);
	raw_transaction(fd);
	close(fd);
	log = read_in_dir("log", NULL);
	cr_expect(strstr(log, "EHLO client.example\nAUTH PLAIN AHVzZXIAd3Jvbmc=\n"
	    "AUTH LOGIN dXNlcg==\nMAIL FROM:<a@example.org>\n") != NULL, "%s", log);
	free(log);
	log = read_in_dir("mail/0001.json", NULL);
	cr_expect(strstr(log, "\"auth_mechanism\": \"LOGIN\"") != NULL, "%s", log);
	free(log);
}

Test(smtpd, starttls_hides_auth_until_tls)
{
	int fd;
	char *rep;

	start_smtpd("starttls", (const char *const[]){ "--auth", NULL });
	fd = greeted();
	rep = tu_smtp_cmd(fd, "EHLO client.example");
	cr_assert(strstr(rep, "250-STARTTLS\r\n") != NULL, "%s", rep);
	cr_assert(strstr(rep, "AUTH") == NULL, "%s", rep);
	free(rep);
	rep = tu_smtp_cmd(fd, "AUTH PLAIN AHVzZXIAc2VjcmV0");
	cr_assert(strncmp(rep, "538 ", 4) == 0, "%s", rep);
	free(rep);
	close(fd);
}

Test(smtpd, starttls_without_auth_require_tls_offers_auth)
{
	int fd;
	char *rep;

	start_smtpd("starttls", (const char *const[]){ "--auth",
	    "--no-auth-require-tls", "--mechanisms", "PLAIN", NULL });
	fd = greeted();
	rep = tu_smtp_cmd(fd, "EHLO client.example");
	cr_assert(strstr(rep, "250-STARTTLS\r\n") != NULL, "%s", rep);
	cr_assert(strstr(rep, "250-AUTH PLAIN\r\n") != NULL, "%s", rep);
	free(rep);
	rep = tu_smtp_cmd(fd, "AUTH LOGIN");
	cr_assert(strncmp(rep, "504 ", 4) == 0, "%s", rep);
	free(rep);
	close(fd);
}

Test(smtpd, no_auth_offered_without_auth_option)
{
	int fd = -1;
	char *rep;

	start_smtpd("plain", NULL);
	fd = greeted();
	rep = tu_smtp_cmd(fd, "EHLO client.example");
	cr_assert(strstr(rep, "AUTH") == NULL, "%s", rep);
	free(rep);
	close(fd);
}

Test(smtpd, anonymous_with_empty_challenge)
{
	int fd;
	char *rep;

	start_smtpd("plain", (const char *const[]){ "--auth", NULL });
	fd = greeted();
	free(tu_smtp_cmd(fd, "EHLO client.example"));
	rep = tu_smtp_cmd(fd, "AUTH ANONYMOUS");
	cr_assert_str_eq(rep, "334 \r\n");
	free(rep);
	rep = tu_smtp_cmd(fd, "dHJhY2VAZXhhbXBsZQ==");	/* trace@example */
	cr_assert(strncmp(rep, "235 ", 4) == 0, "%s", rep);
	free(rep);
	raw_transaction(fd);
	close(fd);
	rep = read_in_dir("mail/0001.json", NULL);
	cr_expect(strstr(rep, "\"auth_mechanism\": \"ANONYMOUS\"") != NULL, "%s", rep);
	cr_expect(strstr(rep, "\"auth_trace\": \"trace@example\"") != NULL, "%s", rep);
	free(rep);
}

Test(smtpd, two_messages_in_one_session)
{
	int fd;
	char *rep;

	start_smtpd("plain", NULL);
	fd = greeted();
	free(tu_smtp_cmd(fd, "EHLO client.example"));
	raw_transaction(fd);
	rep = tu_smtp_cmd(fd, "RSET");
	cr_assert(strncmp(rep, "250", 3) == 0, "%s", rep);
	free(rep);
	raw_transaction(fd);
	close(fd);
	rep = read_in_dir("mail/0002.eml", NULL);
	cr_expect_str_eq(rep, "Subject: raw\r\n\r\nbody\r\n");
	free(rep);
	rep = read_in_dir("mail/0002.json", NULL);
	cr_expect(strstr(rep, "\"transaction\": 2,\n") != NULL, "%s", rep);
	cr_expect(strstr(rep, "\"tls\": false,\n") != NULL, "%s", rep);
	free(rep);
}

Test(smtpd, mail_reply_for_first_transaction_only)
{
	int fd;
	char *rep, *path;

	start_smtpd("plain", (const char *const[]){ "--mail-reply",
	    "451 4.3.0 try later", "--fail-first", "1", NULL });
	fd = greeted();
	free(tu_smtp_cmd(fd, "EHLO client.example"));
	rep = tu_smtp_cmd(fd, "MAIL FROM:<a@example.org>");
	cr_assert_str_eq(rep, "451 4.3.0 try later\r\n");
	free(rep);
	close(fd);
	/* A new connection, as a retry would make. */
	fd = greeted();
	free(tu_smtp_cmd(fd, "EHLO client.example"));
	raw_transaction(fd);
	close(fd);
	rep = read_in_dir("mail/0001.json", NULL);
	cr_expect(strstr(rep, "\"transaction\": 2") != NULL, "%s", rep);
	free(rep);
	path = in_dir("mail/0002.eml");
	cr_expect(access(path, F_OK) != 0);
	free(path);
}

Test(smtpd, rcpt_reply)
{
	int fd;
	char *rep;

	start_smtpd("plain", (const char *const[]){ "--rcpt-reply",
	    "550 5.1.1 no such user", NULL });
	fd = greeted();
	free(tu_smtp_cmd(fd, "EHLO client.example"));
	free(tu_smtp_cmd(fd, "MAIL FROM:<a@example.org>"));
	rep = tu_smtp_cmd(fd, "RCPT TO:<b@example.net>");
	cr_assert_str_eq(rep, "550 5.1.1 no such user\r\n");
	free(rep);
	close(fd);
}

Test(smtpd, data_reply_rejects_and_stores_nothing)
{
	int fd;
	char *rep, *path;

	start_smtpd("plain", (const char *const[]){ "--data-reply",
	    "554 5.6.0 content rejected", NULL });
	fd = greeted();
	free(tu_smtp_cmd(fd, "EHLO client.example"));
	free(tu_smtp_cmd(fd, "MAIL FROM:<a@example.org>"));
	free(tu_smtp_cmd(fd, "RCPT TO:<b@example.net>"));
	free(tu_smtp_cmd(fd, "DATA"));
	rep = tu_smtp_cmd(fd, "Subject: x\r\n\r\nbody\r\n.");
	cr_assert_str_eq(rep, "554 5.6.0 content rejected\r\n");
	free(rep);
	rep = tu_smtp_cmd(fd, "QUIT");
	cr_assert(strncmp(rep, "221", 3) == 0, "%s", rep);
	free(rep);
	close(fd);
	path = in_dir("mail/0001.eml");
	cr_expect(access(path, F_OK) != 0, "a rejected message was stored");
	free(path);
}

Test(smtpd, rcpt_reply_for_one_address)
{
	int fd;
	char *rep;

	start_smtpd("plain", (const char *const[]){
	    "--rcpt-reply-for", "Gone@example.net=550 5.1.1 no such user",
	    "--rcpt-reply-for", "busy@example.net=451 4.2.1 mailbox busy",
	    "--fail-first", "1", NULL });
	fd = greeted();
	free(tu_smtp_cmd(fd, "EHLO client.example"));
	free(tu_smtp_cmd(fd, "MAIL FROM:<a@example.org>"));
	rep = tu_smtp_cmd(fd, "RCPT TO:<ok@example.net>");
	cr_assert(strncmp(rep, "250", 3) == 0, "%s", rep);
	free(rep);
	rep = tu_smtp_cmd(fd, "RCPT TO:<gone@example.net>");
	cr_assert_str_eq(rep, "550 5.1.1 no such user\r\n");
	free(rep);
	rep = tu_smtp_cmd(fd, "RCPT TO:<busy@example.net>");
	cr_assert_str_eq(rep, "451 4.2.1 mailbox busy\r\n");
	free(rep);
	free(tu_smtp_cmd(fd, "DATA"));
	rep = tu_smtp_cmd(fd, "Subject: x\r\n\r\nbody\r\n.");
	cr_assert(strncmp(rep, "250", 3) == 0, "%s", rep);
	free(rep);
	/* Transaction 2 is past --fail-first 1: everyone is accepted. */
	free(tu_smtp_cmd(fd, "MAIL FROM:<a@example.org>"));
	rep = tu_smtp_cmd(fd, "RCPT TO:<busy@example.net>");
	cr_assert(strncmp(rep, "250", 3) == 0, "%s", rep);
	free(rep);
	free(tu_smtp_cmd(fd, "DATA"));
	free(tu_smtp_cmd(fd, "Subject: y\r\n\r\nbody\r\n."));
	close(fd);
	rep = read_in_dir("mail/0001.json", NULL);
	cr_expect(strstr(rep, "\"rcpt_tos\": [\"ok@example.net\"],\n") != NULL,
	    "%s", rep);
	free(rep);
	rep = read_in_dir("mail/0002.json", NULL);
	cr_expect(strstr(rep, "\"rcpt_tos\": [\"busy@example.net\"],\n") != NULL,
	    "%s", rep);
	free(rep);
}

Test(smtpd, rcpt_reply_for_needs_an_equals_sign)
{
	const char *src = getenv("GWSMTP_SOURCE_ROOT");
	struct tu_run r;
	char *root;

	tu_require_servers();
	cr_assert_not_null(src, "GWSMTP_SOURCE_ROOT is not set");
	root = xasprintf("%s/tests/servers/smtpd.py", src);
	tu_run_cmd(&r, NULL, (const char *const[]){ TU_PYTHON, root, "--port",
	    "0", "--rcpt-reply-for", "nobody@example.net", NULL });
	cr_assert_eq(r.status, 2, "exit %d: %s", r.status, r.err);
	cr_assert(strstr(r.err, "ADDR=REPLY") != NULL, "%s", r.err);
	tu_run_free(&r);
	free(root);
}

static long long
elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(now.tv_sec - since->tv_sec) * 1000 +
	    (now.tv_nsec - since->tv_nsec) / 1000000;
}

/*
 * Sends line; a 250 must come, and no sooner than min_ms after it (only a
 * lower bound: a loaded machine makes any reply later).
 */
static void
expect_250_after(int fd, const char *line, long long min_ms)
{
	struct timespec t0;
	long long ms;
	char *rep;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rep = tu_smtp_cmd(fd, line);
	ms = elapsed_ms(&t0);
	cr_assert(strncmp(rep, "250", 3) == 0, "%s: %s", line, rep);
	cr_assert(ms >= min_ms, "%s answered after %lld ms", line, ms);
	free(rep);
}

Test(smtpd, data_delay_holds_the_reply)
{
	int fd;
	char *rep;

	start_smtpd("plain", (const char *const[]){ "--data-delay", "0.4", NULL });
	fd = greeted();
	free(tu_smtp_cmd(fd, "EHLO client.example"));
	begin_data(fd);
	expect_250_after(fd, "Subject: slow\r\n\r\nbody\r\n.", 400);
	close(fd);
	rep = read_in_dir("mail/0001.eml", NULL);
	cr_expect_str_eq(rep, "Subject: slow\r\n\r\nbody\r\n");
	free(rep);
}

/*
 * Only the end of the data waits, and only its own session: with a delay
 * no test outlasts, the commands before it are answered (tu_smtp_cmd()
 * would fail otherwise), the end of the data is not, and another session
 * goes on meanwhile.
 */
Test(smtpd, data_delay_holds_only_the_end_of_data)
{
	char *rep, *got;
	size_t len;
	bool eof;
	int fd, other;

	start_smtpd("plain", (const char *const[]){ "--data-delay", "3600",
	    NULL });
	fd = greeted();
	free(tu_smtp_cmd(fd, "EHLO client.example"));
	begin_data(fd);
	tu_send(fd, "Subject: slow\r\n\r\nbody\r\n.\r\n");
	other = greeted();
	free(tu_smtp_cmd(other, "EHLO client.example"));
	rep = tu_smtp_cmd(other, "MAIL FROM:<a@example.org>");
	cr_assert(strncmp(rep, "250", 3) == 0, "%s", rep);
	free(rep);
	close(other);
	got = tu_read_for(fd, 300, NULL, &len, &eof);
	cr_assert_eq(len, 0, "the end of the data answered at once: %s", got);
	cr_assert(!eof);
	free(got);
	close(fd);
}

/* Whether a connection to 127.0.0.1:port is refused. */
static bool
refused(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool no;

	cr_assert(fd != -1);
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	no = connect(fd, (struct sockaddr *)&sin, sizeof sin) == -1 &&
	    errno == ECONNREFUSED;
	close(fd);
	return no;
}

Test(smtpd, die_after_two_messages)
{
	struct timespec t0;
	char *rep, *partial, *path;
	int fd, port;

	start_smtpd("plain", (const char *const[]){ "--die-after", "2", NULL });
	port = tu_server_port(srv);
	fd = greeted();
	free(tu_smtp_cmd(fd, "EHLO client.example"));
	raw_transaction(fd);
	close(fd);
	/* Counted across connections, as the stored messages are. */
	fd = greeted();
	free(tu_smtp_cmd(fd, "EHLO client.example"));
	raw_transaction(fd);
	free(tu_smtp_cmd(fd, "RSET"));
	tu_send(fd, "MAIL FROM:<a@example.org>\r\n");
	rep = tu_smtp_reply(fd, &partial);
	cr_assert_null(rep, "a reply to the third MAIL: %s", rep);
	cr_assert_str_eq(partial, "", "part of a reply: %s", partial);
	free(partial);
	close(fd);
	/* The process closes its descriptors one by one as it exits. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!refused(port) && elapsed_ms(&t0) < TU_SETTLE_MS)
		usleep(10000);
	cr_assert(refused(port), "the port still listens after the crash");
	rep = read_in_dir("mail/0002.eml", NULL);
	cr_expect_str_eq(rep, "Subject: raw\r\n\r\nbody\r\n");
	free(rep);
	path = in_dir("mail/0003.json");
	cr_expect(access(path, F_OK) != 0, "a third message was stored");
	free(path);
	/* The third MAIL did arrive: the crash answered it. */
	rep = read_in_dir("log", NULL);
	cr_expect(strstr(rep, "RSET\nMAIL FROM:<a@example.org>\n") != NULL,
	    "%s", rep);
	free(rep);
}

/*
 * --pipelining: PIPELINING in the EHLO reply, and a group sent in one
 * write (a message's data, then the next message's commands) answered in
 * order, each message stored.
 */
Test(smtpd, pipelining_offered_and_groups_answered_in_order)
{
	char *rep, *all = NULL, *prev, *partial = NULL;
	int fd;

	start_smtpd("plain", (const char *const[]){ "--pipelining", NULL });
	fd = greeted();
	rep = tu_smtp_cmd(fd, "EHLO client.example");
	cr_assert(strstr(rep, "250-PIPELINING\r\n") != NULL, "%s", rep);
	free(rep);
	tu_send(fd, "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n"
	    "DATA\r\n");
	for (int i = 0; i < 3; i++) {
		rep = tu_smtp_reply(fd, NULL);
		cr_assert_not_null(rep);
		cr_assert(strncmp(rep, i == 2 ? "354" : "250", 3) == 0,
		    "reply %d: %s", i + 1, rep);
		free(rep);
	}
	/* The data, its end and the next transaction in one write. */
	tu_send(fd, "Subject: one\r\n\r\nbody\r\n.\r\nRSET\r\n"
	    "MAIL FROM:<a@example.org>\r\nRCPT TO:<c@example.net>\r\n"
	    "DATA\r\n");
	for (int i = 0; i < 5; i++) {
		rep = tu_smtp_reply(fd, &partial);
		cr_assert_not_null(rep, "reply %d missing: %s", i + 1, partial);
		prev = all;
		all = xasprintf("%s%s", prev ? prev : "", rep);
		free(prev);
		cr_assert(strncmp(rep, i == 4 ? "354" : "250", 3) == 0,
		    "reply %d: %s (so far: %s)", i + 1, rep, all);
		free(rep);
	}
	free(all);
	free(partial);
	rep = tu_smtp_cmd(fd, "Subject: two\r\n\r\nbody\r\n.");
	cr_assert(strncmp(rep, "250", 3) == 0, "%s", rep);
	free(rep);
	close(fd);
	rep = read_in_dir("mail/0001.eml", NULL);
	cr_expect_str_eq(rep, "Subject: one\r\n\r\nbody\r\n");
	free(rep);
	rep = read_in_dir("mail/0002.eml", NULL);
	cr_expect_str_eq(rep, "Subject: two\r\n\r\nbody\r\n");
	free(rep);
	rep = read_in_dir("mail/0002.json", NULL);
	cr_expect(strstr(rep, "\"rcpt_tos\": [\"c@example.net\"]") != NULL,
	    "%s", rep);
	free(rep);
}

/* --wait-sessions 2: MAIL is answered once two sessions were open at once. */
Test(smtpd, wait_sessions_holds_mail_until_they_overlap)
{
	char *peak = in_dir("peak"), *rep, *got, *text;
	size_t len;
	bool eof;
	int fd, other;

	start_smtpd("plain", (const char *const[]){ "--wait-sessions", "2",
	    "--peak", peak, NULL });
	fd = greeted();
	free(tu_smtp_cmd(fd, "EHLO client.example"));
	tu_send(fd, "MAIL FROM:<a@example.org>\r\n");
	got = tu_read_for(fd, 300, NULL, &len, &eof);
	cr_assert_eq(len, 0, "MAIL answered with one session: %s", got);
	free(got);
	text = read_in_dir("peak", NULL);
	cr_assert_str_eq(text, "1\n");
	free(text);

	other = greeted();
	rep = tu_smtp_reply(fd, NULL);
	cr_assert_not_null(rep, "MAIL not answered once two sessions were open");
	cr_assert(strncmp(rep, "250", 3) == 0, "%s", rep);
	free(rep);
	text = read_in_dir("peak", NULL);
	cr_assert_str_eq(text, "2\n");
	free(text);
	/* The second session's MAIL, and later ones, do not wait. */
	free(tu_smtp_cmd(other, "EHLO client.example"));
	raw_transaction(other);
	close(other);
	close(fd);
	free(peak);
}

/* A client that never opens enough sessions is answered after --wait-max. */
Test(smtpd, wait_sessions_gives_up_after_wait_max)
{
	char *err;
	int fd;

	start_smtpd("plain", (const char *const[]){ "--wait-sessions", "3",
	    "--wait-max", "0.5", NULL });
	fd = greeted();
	free(tu_smtp_cmd(fd, "EHLO client.example"));
	expect_250_after(fd, "MAIL FROM:<a@example.org>", 500);
	err = tu_server_stderr(srv);
	cr_assert(strstr(err, "only 1 at once") != NULL, "stderr: %s", err);
	free(err);
	close(fd);
}

/*
 * --gate FILE --gate-after 1: the first message goes through, the end of
 * the second waits until FILE exists.
 */
Test(smtpd, gate_holds_the_next_message_until_the_file_exists)
{
	char *gate = in_dir("go"), *rep, *got, *path;
	size_t len;
	bool eof;
	int fd;

	start_smtpd("plain", (const char *const[]){ "--gate", gate,
	    "--gate-after", "1", NULL });
	fd = greeted();
	free(tu_smtp_cmd(fd, "EHLO client.example"));
	raw_transaction(fd);
	begin_data(fd);
	tu_send(fd, "Subject: held\r\n\r\nbody\r\n.\r\n");
	got = tu_read_for(fd, 300, NULL, &len, &eof);
	cr_assert_eq(len, 0, "the end of the data answered before the gate "
	    "opened: %s", got);
	free(got);
	path = in_dir("mail/0002.eml");
	cr_assert(access(path, F_OK) != 0, "stored before the gate opened");
	tu_write_file(gate, "", 0);
	rep = tu_smtp_reply(fd, NULL);
	cr_assert_not_null(rep, "no reply once the gate opened");
	cr_assert(strncmp(rep, "250", 3) == 0, "%s", rep);
	free(rep);
	cr_assert(access(path, F_OK) == 0, "not stored after the gate opened");
	/* Open for good: the next message does not wait. */
	raw_transaction(fd);
	close(fd);
	free(path);
	free(gate);
}

/* ---------------------------------------------------------------- certs */

/* certtool --verify of name.pem against ca (a file in the certs dir),
 * with --verify-hostname host if not NULL; returns its output. */
static char *
verify(const char *name, const char *ca, const char *host)
{
	char *cert = tu_cert(name), *cafile = tu_cert(ca), *out;
	const char *argv[12] = { "certtool", "--verify", "--load-ca-certificate",
	    cafile, "--infile", cert };
	struct tu_run r;

	if (host != NULL) {
		argv[6] = "--verify-hostname";
		argv[7] = host;
	}
	tu_run_cmd(&r, NULL, argv);
	out = xasprintf("%s%s", r.out, r.err);
	tu_run_free(&r);
	free(cert);
	free(cafile);
	return out;
}

#define VERIFIED "Chain verification output: Verified."

static void
expect_verify(const char *name, const char *ca, const char *host, const char *want)
{
	char *out = verify(name, ca, host);

	cr_expect(strstr(out, want) != NULL, "%s against %s for %s: want \"%s\":\n%s",
	    name, ca, host ? host : "(no host)", want, out);
	free(out);
}

/* certtool -i of name.pem. */
static char *
info(const char *name)
{
	char *cert = tu_cert(name), *out;
	struct tu_run r;

	tu_run_cmd(&r, NULL, (const char *const[]){ "certtool", "-i", "--infile",
	    cert, NULL });
	cr_assert_eq(r.status, 0, "certtool -i %s: %s", name, r.err);
	out = r.out;
	free(r.err);
	free(cert);
	return out;
}

Test(certs, make_certs_is_idempotent_and_quiet)
{
	static const char *const files[] = { "ca.pem", "ca-key.pem", "good.pem",
	    "good-key.pem", "expired.pem", "expired-key.pem", "notyet.pem",
	    "notyet-key.pem", "wronghost.pem", "wronghost-key.pem", "selfsigned.pem",
	    "selfsigned-key.pem", "other-ca.pem", "other-ca-key.pem", "untrusted.pem",
	    "untrusted-key.pem", "chain-good.pem", NULL };
	char *before[32], *script;
	struct tu_run r;
	size_t i;

	for (i = 0; files[i] != NULL; i++) {
		char *path = tu_cert(files[i]);

		before[i] = tu_read_file(path, NULL);
		cr_assert_not_null(before[i], "%s missing", path);
		free(path);
	}
	script = xasprintf("%s/tests/servers/make_certs.sh", getenv("GWSMTP_SOURCE_ROOT"));
	tu_run_cmd(&r, NULL, (const char *const[]){ "bash", script, tu_certs_dir(), NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_eq(r.out, "");
	cr_assert_str_eq(r.err, "");
	tu_run_free(&r);
	for (i = 0; files[i] != NULL; i++) {
		char *path = tu_cert(files[i]), *after = tu_read_file(path, NULL);

		cr_expect_str_eq(after, before[i], "%s changed on a second run", files[i]);
		free(after);
		free(before[i]);
		free(path);
	}
	free(script);
}

Test(certs, good_is_valid_for_localhost_and_loopback_ips)
{
	char *i = info("good.pem");

	cr_expect(strstr(i, "DNSname: localhost") != NULL, "%s", i);
	cr_expect(strstr(i, "IPAddress: 127.0.0.1") != NULL, "%s", i);
	cr_expect(strstr(i, "IPAddress: ::1") != NULL, "%s", i);
	cr_expect(strstr(i, "Issuer: CN=gwsmtp test CA") != NULL, "%s", i);
	free(i);
	expect_verify("good.pem", "ca.pem", "localhost", VERIFIED);
	expect_verify("good.pem", "ca.pem", "127.0.0.1", VERIFIED);
	expect_verify("good.pem", "ca.pem", "::1", VERIFIED);
	expect_verify("good.pem", "ca.pem", "wrong.example", "does not match");
	expect_verify("good.pem", "other-ca.pem", "localhost", "issuer is unknown");
}

Test(certs, expired)
{
	expect_verify("expired.pem", "ca.pem", "localhost", "expired");
}

Test(certs, not_yet_valid)
{
	expect_verify("notyet.pem", "ca.pem", "localhost", "not yet valid");
}

Test(certs, wronghost_is_trusted_but_for_another_name)
{
	char *i = info("wronghost.pem");

	cr_expect(strstr(i, "DNSname: wrong.example") != NULL, "%s", i);
	cr_expect(strstr(i, "localhost") == NULL, "%s", i);
	cr_expect(strstr(i, "IPAddress") == NULL, "%s", i);
	free(i);
	expect_verify("wronghost.pem", "ca.pem", NULL, VERIFIED);
	expect_verify("wronghost.pem", "ca.pem", "wrong.example", VERIFIED);
	expect_verify("wronghost.pem", "ca.pem", "localhost", "does not match");
	expect_verify("wronghost.pem", "ca.pem", "127.0.0.1", "does not match");
}

Test(certs, selfsigned)
{
	char *i = info("selfsigned.pem");

	cr_expect(strstr(i, "Issuer: CN=selfsigned test server") != NULL, "%s", i);
	cr_expect(strstr(i, "Subject: CN=selfsigned test server") != NULL, "%s", i);
	free(i);
	expect_verify("selfsigned.pem", "ca.pem", "localhost", "issuer is unknown");
}

Test(certs, untrusted_is_signed_by_the_other_ca)
{
	expect_verify("untrusted.pem", "ca.pem", "localhost", "issuer is unknown");
	expect_verify("untrusted.pem", "other-ca.pem", "localhost", VERIFIED);
}

/*
 * gnutls-cli against badsmtp --implicit serving name.pem with its key, the
 * client trusting cafile; with a priority string, against the tls11-only
 * scenario.  Returns gnutls-cli's output; its exit status in *status.
 */
static char *
handshake(const char *name, const char *cafile, const char *priority, int *status)
{
	char *stem = xstrndup(name, strlen(name) - 4), *key = xasprintf("%s-key.pem", stem);
	char *certfile = tu_cert(name), *keyfile = tu_cert(key), *ca = tu_cert(cafile);
	const char *scenario = priority != NULL ? "tls11-only" : "normal";
	char port[16], *out;
	struct tu_run r;

	srv = tu_server_start("badsmtp.py", (const char *const[]){ "--scenario",
	    scenario, "--implicit", "--cert", certfile, "--key", keyfile, NULL });
	snprintf(port, sizeof port, "%d", tu_server_port(srv));
	tu_run_cmd(&r, "", (const char *const[]){ "gnutls-cli", "--x509cafile", ca,
	    "--priority", priority != NULL ? priority : "NORMAL", "-p", port, "localhost",
	    NULL });
	*status = r.status;
	out = xasprintf("%s%s", r.out, r.err);
	tu_run_free(&r);
	tu_server_stop(srv);
	srv = NULL;
	free(stem);
	free(key);
	free(certfile);
	free(keyfile);
	free(ca);
	return out;
}

static void
expect_handshake(const char *name, const char *ca, bool ok, const char *want)
{
	int status;
	char *out = handshake(name, ca, NULL, &status);

	if (ok)
		cr_expect_eq(status, 0, "%s refused:\n%s", name, out);
	else
		cr_expect_neq(status, 0, "%s accepted:\n%s", name, out);
	cr_expect(strstr(out, want) != NULL, "%s: want \"%s\":\n%s", name, want, out);
	free(out);
}

Test(certs, served_over_tls_each_as_claimed)
{
	expect_handshake("good.pem", "ca.pem", true, "Handshake was completed");
	expect_handshake("expired.pem", "ca.pem", false, "expired");
	expect_handshake("notyet.pem", "ca.pem", false, "not yet");
	expect_handshake("wronghost.pem", "ca.pem", false, "does not match");
	expect_handshake("selfsigned.pem", "ca.pem", false, "issuer is unknown");
	expect_handshake("untrusted.pem", "ca.pem", false, "issuer is unknown");
	/* GnuTLS trusts an end-entity certificate found as such in its trust
	 * list (certtool --verify does not): a self-signed server is usable
	 * with ca_file set to its own certificate. */
	expect_handshake("selfsigned.pem", "selfsigned.pem", true, "Handshake was completed");
	expect_handshake("untrusted.pem", "other-ca.pem", true, "Handshake was completed");
}

/* ------------------------------------------------------------- badsmtp */

/* Connects to the bad server, reads the greeting, sends EHLO; returns
 * the EHLO reply in *ehlo (caller frees). */
static int
bad_ehlo(char **ehlo)
{
	int fd = greeted();

	*ehlo = tu_smtp_cmd(fd, "EHLO client.example");
	return fd;
}

static char *
read_log(void)
{
	return read_in_dir("log", NULL);
}

Test(badsmtp, normal_delivers)
{
	char *ehlo, *rep;
	int fd;

	start_bad("normal", NULL);
	fd = bad_ehlo(&ehlo);
	cr_assert_str_eq(ehlo, "250-localhost\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
	    "250-STARTTLS\r\n250 AUTH PLAIN LOGIN ANONYMOUS\r\n");
	free(ehlo);
	raw_transaction(fd);
	rep = tu_smtp_cmd(fd, "QUIT");
	cr_assert_str_eq(rep, "221 2.0.0 bye\r\n");
	free(rep);
	close(fd);
}

Test(badsmtp, no_starttls)
{
	char *ehlo;
	int fd;

	start_bad("no-starttls", NULL);
	fd = bad_ehlo(&ehlo);
	cr_expect(strstr(ehlo, "STARTTLS") == NULL, "%s", ehlo);
	cr_expect(strstr(ehlo, "250 AUTH PLAIN LOGIN ANONYMOUS\r\n") != NULL, "%s", ehlo);
	free(ehlo);
	close(fd);
}

static void
starttls_refused(const char *scenario, const char *want)
{
	char *ehlo, *rep, *log;
	int fd;

	start_bad(scenario, NULL);
	fd = bad_ehlo(&ehlo);
	cr_expect(strstr(ehlo, "250-STARTTLS\r\n") != NULL, "%s", ehlo);
	free(ehlo);
	rep = tu_smtp_cmd(fd, "STARTTLS");
	cr_expect_str_eq(rep, want);
	free(rep);
	/* Still plain text afterwards, and the log shows what a client sent. */
	rep = tu_smtp_cmd(fd, "NOOP");
	cr_expect_str_eq(rep, "250 2.0.0 OK\r\n");
	free(rep);
	close(fd);
	log = read_log();
	cr_expect_str_eq(log, "EHLO client.example\nSTARTTLS\nNOOP\n");
	free(log);
}

Test(badsmtp, starttls_454)
{
	starttls_refused("starttls-454", "454 4.7.0 TLS not available\r\n");
}

Test(badsmtp, starttls_502)
{
	starttls_refused("starttls-502", "502 5.5.1 STARTTLS not implemented\r\n");
}

Test(badsmtp, starttls_354)
{
	starttls_refused("starttls-354", "354 go ahead\r\n");
}

Test(badsmtp, starttls_inject)
{
	char *ehlo, *got;
	size_t len;
	bool eof;
	int fd;

	start_bad("starttls-inject", NULL);
	fd = bad_ehlo(&ehlo);
	free(ehlo);
	tu_send(fd, "STARTTLS\r\n");
	/* Both lines, though a client should stop reading after the first. */
	got = tu_read_for(fd, TU_SETTLE_MS, "250 injected\r\n", &len, &eof);
	cr_expect_str_eq(got, "220 go ahead\r\n250 injected\r\n");
	free(got);
	close(fd);
}

Test(badsmtp, greeting_421)
{
	int fd;
	char *rep;

	start_bad("greeting-421", NULL);
	fd = tu_connect(tu_server_port(srv));
	rep = tu_smtp_reply(fd, NULL);
	cr_assert_not_null(rep);
	cr_expect_str_eq(rep, "421 4.3.2 service not available\r\n");
	free(rep);
	rep = tu_smtp_cmd(fd, "QUIT");
	cr_expect_str_eq(rep, "221 2.0.0 bye\r\n");
	free(rep);
	close(fd);
}

Test(badsmtp, long_line)
{
	char *ehlo, *eol;
	int fd;

	start_bad("long-line", NULL);
	fd = bad_ehlo(&ehlo);
	eol = strstr(ehlo, "\r\n");
	cr_assert_not_null(eol);
	cr_expect_eq(eol - ehlo, 10000, "first line is %td octets", eol - ehlo);
	cr_expect(strncmp(ehlo, "250-xxx", 7) == 0);
	cr_expect(strstr(ehlo, "\r\n250 AUTH PLAIN LOGIN ANONYMOUS\r\n") != NULL);
	free(ehlo);
	close(fd);
}

Test(badsmtp, data_stall)
{
	char *ehlo, *rep, *got;
	bool eof;
	size_t len;
	int fd;

	start_bad("data-stall", NULL);
	fd = bad_ehlo(&ehlo);
	free(ehlo);
	free(tu_smtp_cmd(fd, "MAIL FROM:<a@example.org>"));
	free(tu_smtp_cmd(fd, "RCPT TO:<b@example.net>"));
	rep = tu_smtp_cmd(fd, "DATA");
	cr_assert(strncmp(rep, "354 ", 4) == 0, "%s", rep);
	free(rep);
	tu_send(fd, "Subject: x\r\n\r\nbody\r\n.\r\n");
	got = tu_read_for(fd, 1500, NULL, &len, &eof);
	cr_expect_eq(len, 0, "answered the end of data: %s", got);
	cr_expect(!eof, "closed instead of stalling");
	free(got);
	close(fd);
}

Test(badsmtp, close_mid_reply)
{
	char *got;
	bool eof;
	size_t len;
	int fd;

	start_bad("close-mid-reply", NULL);
	fd = greeted();
	tu_send(fd, "EHLO client.example\r\n");
	got = tu_read_for(fd, TU_SETTLE_MS, NULL, &len, &eof);
	cr_expect_str_eq(got, "250-first\r\n");
	cr_expect(eof, "connection left open");
	free(got);
	close(fd);
}

Test(badsmtp, auth_535)
{
	char *ehlo, *rep;
	int fd;

	start_bad("auth-535", NULL);
	fd = bad_ehlo(&ehlo);
	cr_expect(strstr(ehlo, "250 AUTH PLAIN LOGIN\r\n") != NULL, "%s", ehlo);
	free(ehlo);
	rep = tu_smtp_cmd(fd, "AUTH PLAIN AHVzZXIAc2VjcmV0");
	cr_expect_str_eq(rep, "535 5.7.8 authentication credentials invalid\r\n");
	free(rep);
	rep = tu_smtp_cmd(fd, "AUTH LOGIN");
	cr_expect_str_eq(rep, "334 VXNlcm5hbWU6\r\n");
	free(rep);
	rep = tu_smtp_cmd(fd, "dXNlcg==");
	cr_expect_str_eq(rep, "334 UGFzc3dvcmQ6\r\n");
	free(rep);
	rep = tu_smtp_cmd(fd, "c2VjcmV0");
	cr_expect_str_eq(rep, "535 5.7.8 authentication credentials invalid\r\n");
	free(rep);
	close(fd);
}

Test(badsmtp, rcpt_451)
{
	char *ehlo, *rep;
	int fd;

	start_bad("rcpt-451", NULL);
	fd = bad_ehlo(&ehlo);
	free(ehlo);
	rep = tu_smtp_cmd(fd, "MAIL FROM:<a@example.org>");
	cr_expect(strncmp(rep, "250 ", 4) == 0, "%s", rep);
	free(rep);
	rep = tu_smtp_cmd(fd, "RCPT TO:<b@example.net>");
	cr_expect_str_eq(rep, "451 4.3.0 try again later\r\n");
	free(rep);
	close(fd);
}

Test(badsmtp, mail_550)
{
	char *ehlo, *rep, *log;
	int fd;

	start_bad("mail-550", NULL);
	fd = bad_ehlo(&ehlo);
	free(ehlo);
	rep = tu_smtp_cmd(fd, "MAIL FROM:<a@example.org>");
	cr_expect_str_eq(rep, "550 5.7.1 sender rejected\r\n");
	free(rep);
	close(fd);
	log = read_log();
	cr_expect_str_eq(log, "EHLO client.example\nMAIL FROM:<a@example.org>\n");
	free(log);
}

Test(badsmtp, tls11_only_refused_with_tls12_floor)
{
	int status;
	char *out;

	/* The floor gwengine sets for tls_min=1.2. */
	out = handshake("good.pem", "ca.pem", "NORMAL:-VERS-TLS1.0:-VERS-TLS1.1", &status);
	cr_expect_neq(status, 0, "handshake succeeded:\n%s", out);
	cr_expect(strstr(out, "Handshake was completed") == NULL, "%s", out);
	free(out);
	/* And it is a working TLS 1.1 server, so the refusal is the floor's. */
	out = handshake("good.pem", "ca.pem", "NORMAL:-VERS-ALL:+VERS-TLS1.1", &status);
	cr_expect(strstr(out, "Handshake was completed") != NULL, "%s", out);
	cr_expect(strstr(out, "(TLS1.1-") != NULL, "%s", out);
	free(out);
}
