/*
 * tests/test_tls.c: engine/tls.h against real servers: gnutls-serv with
 * the certificates of tests/servers/make_certs.sh (tu_certs_dir()), a
 * Python ssl server for the data and the goodbyes, and sockets that never
 * speak, hang up mid-handshake or speak SMTP instead of TLS.
 *
 * The expected fingerprints come from certtool, not from the module.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/xmalloc.h"
#include "engine/deadline.h"
#include "engine/tls.h"
#include "tests/servers.h"
#include "tests/testutil.h"

#define PRIO_TLS11	"NORMAL:-VERS-ALL:+VERS-TLS1.1:+VERS-TLS1.0"
#define PRIO_TLS12	"NORMAL:-VERS-ALL:+VERS-TLS1.2"
/*
 * What a loaded machine may add to a timeout before the test sees it fire:
 * a timeout that never fires, or counts in another unit, still fails.
 */
#define LATE_S		4

struct serv {
	pid_t	 pid;
	int	 port;
	int	 errfd;		/* its stderr, kept open so it never blocks */
	char	*log;		/* what it printed there */
	size_t	 loglen;
};

static struct serv	 serv = { .pid = -1, .errfd = -1 };
static struct tls_session *sess;
static struct tls_info	 info;
static char		*cause;
static int		 conn_fd = -1;	/* the socket under sess */

static void serv_stop(void);

static void
teardown(void)
{
	tls_session_free(sess);
	sess = NULL;
	if (conn_fd != -1)
		close(conn_fd);
	conn_fd = -1;
	tls_info_clear(&info);
	free(cause);
	cause = NULL;
	serv_stop();
}

TestSuite(tls, .fini = teardown);


/* "sha256:<hex>" of NAME.pem, as certtool computes it. */
static char *
certtool_pin(const char *name)
{
	char *cmd, line[256];
	FILE *f;

	cmd = xasprintf("certtool --fingerprint --hash sha256 --infile "
	    "'%s/%s.pem'", tu_certs_dir(), name);
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(line, sizeof line, f), "%s: no output", cmd);
	pclose(f);
	free(cmd);
	line[strcspn(line, "\r\n")] = '\0';
	cr_assert_eq(strlen(line), 64, "certtool said '%s'", line);
	return xasprintf("sha256:%s", line);
}

/*
 * Reads the server's output until a whole line containing what has come,
 * and returns that line (in serv.log, up to its newline); NULL if the
 * server exited first or TU_SETTLE_MS passed.
 */
static const char *
serv_line(const char *what)
{
	long long deadline = tu_now_ms() + TU_SETTLE_MS;
	struct pollfd pfd = { .fd = serv.errfd, .events = POLLIN };
	char buf[4096], *line;
	ssize_t n;

	for (;;) {
		if ((line = strstr(serv.log, what)) != NULL &&
		    strchr(line, '\n') != NULL)
			return line;
		if (tu_now_ms() >= deadline)
			return NULL;
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		if ((n = read(serv.errfd, buf, sizeof buf)) <= 0)
			return NULL;
		serv.log = xreallocarray(serv.log, serv.loglen + (size_t)n + 1,
		    1);
		memcpy(serv.log + serv.loglen, buf, (size_t)n);
		serv.loglen += (size_t)n;
		serv.log[serv.loglen] = '\0';
	}
}

/* gnutls-serv's "... listening on WHAT ...done": false if it failed. */
static bool
serv_wait(const char *what)
{
	const char *line = serv_line(what);

	return line != NULL && memmem(line, (size_t)(strchr(line, '\n') -
	    line), "done", 4) != NULL;
}

static void
serv_stop(void)
{
	if (serv.pid != -1) {
		kill(serv.pid, SIGTERM);
		waitpid(serv.pid, NULL, 0);
		serv.pid = -1;
	}
	if (serv.errfd != -1)
		close(serv.errfd);
	serv.errfd = -1;
	free(serv.log);
	serv.log = NULL;
	serv.loglen = 0;
}

/* Runs argv with its stderr (and stdout if both) into serv.errfd. */
static void
spawn(const char *const *argv, bool both)
{
	int p[2], fd;

	cr_assert(pipe(p) == 0);
	serv.pid = fork();
	cr_assert(serv.pid != -1);
	if (serv.pid == 0) {
		/* Gone with the test process, whatever happens to it. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		fd = open("/dev/null", O_RDWR);
		dup2(fd, 0);
		dup2(both ? p[1] : fd, 1);
		dup2(p[1], 2);
		close(p[0]);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	serv.errfd = p[0];
	serv.log = xstrdup("");
}

/*
 * Starts gnutls-serv with NAME.pem and NAME-key.pem, the priority string and
 * extra options (NULL-terminated), on a port that was free a moment ago
 * (gnutls-serv cannot pick its own): another try if it was taken meanwhile.
 */
static void
serv_start(const char *name, const char *priority, ...)
{
	const char *argv[32], *opt;
	char *cert, *key, *port, *file;
	int attempt, argc;
	va_list ap;

	tu_need_tool("gnutls-serv");
	file = xasprintf("%s.pem", name);
	cert = tu_cert(file);
	free(file);
	file = xasprintf("%s-key.pem", name);
	key = tu_cert(file);
	free(file);
	for (attempt = 0; attempt < 5; attempt++) {
		serv.port = tu_free_port();
		port = xasprintf("%d", serv.port);
		argc = 0;
		argv[argc++] = "gnutls-serv";
		argv[argc++] = "--disable-client-cert";
		argv[argc++] = "--port";
		argv[argc++] = port;
		argv[argc++] = "--x509certfile";
		argv[argc++] = cert;
		argv[argc++] = "--x509keyfile";
		argv[argc++] = key;
		argv[argc++] = "--priority";
		argv[argc++] = priority;
		va_start(ap, priority);
		while ((opt = va_arg(ap, const char *)) != NULL && argc < 30)
			argv[argc++] = opt;
		va_end(ap);
		argv[argc] = NULL;
		spawn(argv, false);
		free(port);
		if (serv_wait("listening on IPv4")) {
			free(cert);
			free(key);
			return;
		}
		if (attempt == 4)
			cr_assert_fail("gnutls-serv did not start: %s",
			    serv.log);
		serv_stop();
	}
}

/*
 * The data tests' server: Python's ssl module (OpenSSL, so another TLS
 * stack than ours).  gnutls-serv --echo is no use there: it stalls on
 * records that are not short lines.
 */
static const char py_server[] =
    "import socket, ssl, sys\n"
    "cert, key, mode = sys.argv[1:4]\n"
    "ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
    "ctx.load_cert_chain(cert, key)\n"
    "ctx.options &= ~getattr(ssl, 'OP_IGNORE_UNEXPECTED_EOF', 0)\n"
    "ls = socket.socket()\n"
    "ls.bind(('127.0.0.1', 0))\n"
    "ls.listen(8)\n"
    "print('PORT', ls.getsockname()[1], flush=True)\n"
    "while True:\n"
    "    c, _ = ls.accept()\n"
    "    s = None\n"
    "    try:\n"
    "        s = ctx.wrap_socket(c, server_side=True,\n"
    "                            suppress_ragged_eofs=False)\n"
    "        if mode == 'echo':\n"
    "            while True:\n"
    "                d = s.recv(65536)\n"
    "                if not d:\n"
    "                    break\n"
    "                s.sendall(d)\n"
    "        elif mode == 'bye':\n"	/* then close_notify */
    "            s.sendall(b'bye\\n')\n"
    "            s = s.unwrap()\n"
    "        elif mode == 'drop':\n"	/* then just the TCP FIN */
    "            s.sendall(b'bye\\n')\n"
    "        elif mode == 'report':\n"	/* how the client left */
    "            n = 0\n"
    "            try:\n"
    "                while True:\n"
    "                    d = s.recv(65536)\n"
    "                    if not d:\n"
    "                        break\n"
    "                    n += len(d)\n"
    "                print('END clean, data', n, flush=True)\n"
    "            except (OSError, ssl.SSLError) as e:\n"
    "                print('END', e, ', data', n, flush=True)\n"
    "    except (OSError, ssl.SSLError):\n"
    "        pass\n"
    "    (s or c).close()\n";

/* Starts py_server in mode (echo, bye, drop, report) with good.pem. */
static void
py_start(const char *mode)
{
	const char *argv[8], *line;
	char *cert, *key;

	tu_need_tool(TU_PYTHON);
	cert = tu_cert("good.pem");
	key = tu_cert("good-key.pem");
	argv[0] = TU_PYTHON;
	argv[1] = "-c";
	argv[2] = py_server;
	argv[3] = cert;
	argv[4] = key;
	argv[5] = mode;
	argv[6] = NULL;
	spawn(argv, true);
	line = serv_line("PORT ");
	cr_assert(line != NULL && sscanf(line, "PORT %d", &serv.port) == 1,
	    "the Python TLS server did not start: %s", serv.log);
	free(cert);
	free(key);
}

/* A blocking TCP connection to host:port. */
static int
tcp_connect(const char *host, int port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res;
	char portstr[16];
	int fd, error;

	snprintf(portstr, sizeof portstr, "%d", port);
	error = getaddrinfo(host, portstr, &hints, &res);
	cr_assert(error == 0, "%s: %s", host, gai_strerror(error));
	/* "localhost" may name ::1 and 127.0.0.1: try each, as a client does. */
	fd = -1;
	for (struct addrinfo *ai = res; ai != NULL && fd == -1; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM, 0);
		cr_assert(fd != -1);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			error = errno;
			close(fd);
			fd = -1;
		}
	}
	cr_assert(fd != -1, "connect %s:%d: %s", host, port, strerror(error));
	freeaddrinfo(res);
	return fd;
}

static struct tls_params
params(const char *host)
{
	static char *ca;

	free(ca);
	ca = tu_cert("ca.pem");
	return (struct tls_params){ .host = host, .verify = true,
	    .ca_file = ca, .timeout = 10 };
}

/* Connects to the running server by connect_host and handshakes. */
static int
start_at(const char *connect_host, const struct tls_params *p)
{
	if (conn_fd != -1)
		close(conn_fd);
	conn_fd = tcp_connect(connect_host, serv.port);
	return tls_session_start(conn_fd, p, &sess, &info, &cause);
}

static int
start(const struct tls_params *p)
{
	return start_at("127.0.0.1", p);
}

static void
expect_ok(int rc)
{
	cr_assert_eq(rc, TLS_OK, "rc %d: %s", rc, cause ? cause : "");
	cr_assert_not_null(sess);
	cr_assert_null(cause);
}

/* Refused by verification: no session, info filled, reason in both. */
static void
expect_refused(int rc, const char *why)
{
	cr_assert_eq(rc, TLS_ERR_VERIFY, "rc %d: %s", rc, cause ? cause : "");
	cr_log_info("%s", cause);	/* --verbose shows what users read */
	cr_assert_null(sess);
	cr_assert_not_null(cause);
	cr_assert(!info.verified);
	cr_assert_not_null(info.verdict);
	cr_assert_not_null(strstr(info.verdict, why), "verdict '%s' lacks '%s'",
	    info.verdict, why);
	cr_assert_not_null(strstr(cause, why), "cause '%s' lacks '%s'", cause,
	    why);
	cr_assert_not_null(strstr(cause, "refused"), "cause '%s'", cause);
	cr_assert_not_null(info.subject);
	cr_assert_not_null(info.fingerprint);
	cr_assert_not_null(info.version);
}

Test(tls, good_certificate_by_name)
{
	struct tls_params p;
	time_t now = time(NULL);
	char *pin;

	serv_start("good", "NORMAL", NULL);
	p = params("localhost");
	expect_ok(start_at("localhost", &p));
	cr_expect_str_eq(info.version, "TLS1.3");
	cr_expect(info.cipher != NULL && info.cipher[0] != '\0');
	cr_expect_not_null(strstr(info.subject, "CN=good test server"),
	    "subject %s", info.subject);
	cr_expect_not_null(strstr(info.issuer, "CN=gwsmtp test CA"),
	    "issuer %s", info.issuer);
	cr_expect(info.not_before < now && info.not_before > now - 3 * 86400);
	cr_expect(info.not_after > now + 365 * 86400);
	pin = certtool_pin("good");
	cr_expect_str_eq(info.fingerprint, pin);
	free(pin);
	cr_expect(info.verified);
	cr_expect_str_eq(info.verdict, "ok");
	cr_expect_eq(tls_session_pending(sess), 0);
}

Test(tls, good_certificate_by_ipv4_address)
{
	struct tls_params p;

	serv_start("good", "NORMAL", NULL);
	p = params("127.0.0.1");
	expect_ok(start(&p));
	cr_expect(info.verified);
	cr_expect_str_eq(info.verdict, "ok");
}

Test(tls, good_certificate_by_ipv6_address)
{
	struct tls_params p;
	int fd;

	serv_start("good", "NORMAL", NULL);
	if ((fd = socket(AF_INET6, SOCK_STREAM, 0)) != -1)
		close(fd);
	if (fd == -1 || !serv_wait("listening on IPv6"))
		cr_skip_test("no IPv6 loopback: %s", serv.log);
	p = params("[::1]");	/* brackets as in a URL are tolerated */
	expect_ok(start_at("::1", &p));
	cr_expect(info.verified);
	p = params("::1");
	tls_session_free(sess);
	sess = NULL;
	tls_info_clear(&info);
	expect_ok(start_at("::1", &p));
}

/* The address is compared with the IP SANs, not waved through. */
Test(tls, address_not_in_certificate)
{
	struct tls_params p;

	serv_start("good", "NORMAL", NULL);
	p = params("127.0.0.2");
	expect_refused(start(&p), "hostname 127.0.0.2 not in the certificate");
}

Test(tls, name_not_in_certificate)
{
	struct tls_params p;

	serv_start("good", "NORMAL", NULL);
	p = params("mail.example.org");
	expect_refused(start(&p), "hostname mail.example.org not in the "
	    "certificate");
}

Test(tls, expired)
{
	struct tls_params p;

	serv_start("expired", "NORMAL", NULL);
	p = params("127.0.0.1");
	expect_refused(start(&p), "expired");
	cr_expect_str_eq(cause, "certificate for 127.0.0.1 refused: expired");
	cr_expect_not_null(strstr(info.subject, "CN=expired test server"));
	cr_expect(info.not_after < time(NULL));
}

Test(tls, not_yet_valid)
{
	struct tls_params p;

	serv_start("notyet", "NORMAL", NULL);
	p = params("localhost");
	expect_refused(start(&p), "not activated");
	cr_expect(info.not_before > time(NULL));
}

Test(tls, wrong_host)
{
	struct tls_params p;

	serv_start("wronghost", "NORMAL", NULL);
	p = params("localhost");
	expect_refused(start(&p), "hostname localhost not in the certificate");
}

Test(tls, self_signed)
{
	struct tls_params p;

	serv_start("selfsigned", "NORMAL", NULL);
	p = params("localhost");
	expect_refused(start(&p), "self-signed and not trusted");
}

Test(tls, untrusted_ca)
{
	struct tls_params p;

	serv_start("untrusted", "NORMAL", NULL);
	p = params("localhost");
	expect_refused(start(&p), "signer not found or not trusted");
	cr_expect_not_null(strstr(info.issuer, "CN=gwsmtp other CA"));
}

/* The system store does not know the test CA. */
Test(tls, system_store_does_not_trust_test_ca)
{
	struct tls_params p;

	serv_start("good", "NORMAL", NULL);
	p = params("localhost");
	p.ca_file = NULL;
	expect_refused(start(&p), "signer not found or not trusted");
}

Test(tls, verify_false_accepts_but_says_so)
{
	struct tls_params p;

	serv_start("expired", "NORMAL", NULL);
	p = params("127.0.0.1");
	p.verify = false;
	expect_ok(start(&p));
	cr_expect(!info.verified);
	cr_expect_not_null(strstr(info.verdict, "not verified (verify=false)"),
	    "verdict %s", info.verdict);
	cr_expect_not_null(strstr(info.verdict, "expired"), "verdict %s",
	    info.verdict);
}

Test(tls, verify_false_on_good_certificate)
{
	struct tls_params p;

	serv_start("good", "NORMAL", NULL);
	p = params("127.0.0.1");
	p.verify = false;
	expect_ok(start(&p));
	cr_expect(!info.verified);
	cr_expect_str_eq(info.verdict,
	    "not verified (verify=false); it would pass");
}

Test(tls, pinned_self_signed)
{
	struct tls_params p;
	char *pin = certtool_pin("selfsigned");

	serv_start("selfsigned", "NORMAL", NULL);
	p = params("127.0.0.1");
	p.fingerprint = pin;
	expect_ok(start(&p));
	cr_expect(info.verified);
	cr_expect_str_eq(info.verdict, "ok");
	cr_expect_str_eq(info.fingerprint, pin);
	free(pin);
}

/* The pin replaces the name check too, and is matched in any spelling. */
Test(tls, pin_with_colons_upper_case_and_other_name)
{
	struct tls_params p;
	char *pin = certtool_pin("selfsigned"), *spelt, *q;
	size_t i;

	spelt = xmalloc(7 + 64 / 2 * 3);
	q = spelt + sprintf(spelt, "SHA256:");
	for (i = 7; pin[i] != '\0'; i += 2)
		q += sprintf(q, "%s%c%c", i == 7 ? "" : ":",
		    toupper((unsigned char)pin[i]),
		    toupper((unsigned char)pin[i + 1]));
	serv_start("selfsigned", "NORMAL", NULL);
	p = params("not-the-name.example");
	p.fingerprint = spelt;
	expect_ok(start(&p));
	cr_expect(info.verified);
	free(spelt);
	free(pin);
}

Test(tls, wrong_pin)
{
	struct tls_params p;
	char *pin = certtool_pin("good");

	serv_start("selfsigned", "NORMAL", NULL);
	p = params("127.0.0.1");
	p.fingerprint = pin;
	expect_refused(start(&p), "pinned");
	free(pin);
}

/* A pin is a decision about this server: verify=false does not waive it. */
Test(tls, wrong_pin_with_verify_false)
{
	struct tls_params p;
	char *pin = certtool_pin("good");

	serv_start("selfsigned", "NORMAL", NULL);
	p = params("127.0.0.1");
	p.fingerprint = pin;
	p.verify = false;
	expect_refused(start(&p), "pinned");
	free(pin);
}

/* A chain that would verify does not rescue a wrong pin. */
Test(tls, wrong_pin_on_trusted_certificate)
{
	struct tls_params p;
	char *pin = certtool_pin("selfsigned");

	serv_start("good", "NORMAL", NULL);
	p = params("localhost");
	p.fingerprint = pin;
	expect_refused(start(&p), "pinned");
	free(pin);
}

Test(tls, tls11_server_refused)
{
	struct tls_params p;
	int rc;

	serv_start("good", PRIO_TLS11, NULL);
	p = params("127.0.0.1");
	rc = start(&p);
	cr_assert_eq(rc, TLS_ERR_HANDSHAKE, "rc %d: %s", rc, cause);
	cr_log_info("%s", cause);
	cr_assert_null(sess);
	cr_expect_not_null(strstr(cause, "TLS handshake with 127.0.0.1 "
	    "failed: "), "cause %s", cause);
	cr_expect_not_null(strstr(cause, "TLS 1.2 or later"), "cause %s",
	    cause);
}

Test(tls, tls12_server_accepted_with_floor_12)
{
	struct tls_params p;

	serv_start("good", PRIO_TLS12, NULL);
	p = params("127.0.0.1");
	expect_ok(start(&p));
	cr_expect_str_eq(info.version, "TLS1.2");
	cr_expect(info.cipher != NULL && info.cipher[0] != '\0');
	cr_expect(info.verified);
}

Test(tls, tls12_server_refused_with_tls13_only)
{
	struct tls_params p;
	int rc;

	serv_start("good", PRIO_TLS12, NULL);
	p = params("127.0.0.1");
	p.tls13_only = true;
	rc = start(&p);
	cr_assert_eq(rc, TLS_ERR_HANDSHAKE, "rc %d: %s", rc, cause);
	cr_log_info("%s", cause);
	cr_expect_not_null(strstr(cause, "TLS handshake with 127.0.0.1 "
	    "failed: "), "cause %s", cause);
	cr_expect_not_null(strstr(cause, "TLS 1.3"), "cause %s", cause);
}

/* SNI goes out for names only: the server insists on "localhost". */
Test(tls, sni_for_names_not_addresses)
{
	struct tls_params p;

	serv_start("good", "NORMAL", "--sni-hostname", "localhost",
	    "--sni-hostname-fatal", NULL);
	p = params("localhost");
	expect_ok(start_at("localhost", &p));
	tls_session_free(sess);
	sess = NULL;
	tls_info_clear(&info);
	p = params("127.0.0.1");
	expect_ok(start(&p));		/* no SNI at all: accepted */
}

/* Control for the test above: a name it does not expect is fatal. */
Test(tls, sni_mismatch_is_seen_by_server)
{
	struct tls_params p;
	int rc;

	serv_start("good", "NORMAL", "--sni-hostname", "mail.example.org",
	    "--sni-hostname-fatal", NULL);
	p = params("localhost");
	rc = start(&p);
	cr_expect_eq(rc, TLS_ERR_HANDSHAKE, "rc %d: %s", rc, cause);
}

Test(tls, silent_server_times_out)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof sin;
	struct tls_params p;
	struct timespec t0, t1;
	double elapsed;
	int lfd, fd, rc;

	/* The kernel completes the connection; nobody ever accepts it. */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(bind(lfd, (struct sockaddr *)&sin, sizeof sin) == 0);
	cr_assert(listen(lfd, 1) == 0);
	cr_assert(getsockname(lfd, (struct sockaddr *)&sin, &len) == 0);
	fd = tcp_connect("127.0.0.1", ntohs(sin.sin_port));
	p = (struct tls_params){ .host = "127.0.0.1", .verify = false,
	    .timeout = 1 };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = tls_session_start(fd, &p, &sess, &info, &cause);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	elapsed = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cr_assert_eq(rc, TLS_ERR_TIMEOUT, "rc %d: %s", rc, cause);
	cr_expect(elapsed >= 0.9 && elapsed < 1 + LATE_S, "took %.2f s",
	    elapsed);
	cr_expect_not_null(strstr(cause, "timed out"), "cause %s", cause);
	cr_expect_null(sess);
	close(fd);
	close(lfd);
}

Test(tls, server_hangs_up_mid_handshake)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof sin;
	struct tls_params p;
	char buf[16];
	pid_t pid;
	int lfd, fd, cfd, rc;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(bind(lfd, (struct sockaddr *)&sin, sizeof sin) == 0);
	cr_assert(listen(lfd, 1) == 0);
	cr_assert(getsockname(lfd, (struct sockaddr *)&sin, &len) == 0);
	pid = fork();
	cr_assert(pid != -1);
	if (pid == 0) {
		/* Reads the start of the ClientHello, then hangs up. */
		cfd = accept(lfd, NULL, NULL);
		if (cfd != -1 && read(cfd, buf, sizeof buf) > 0)
			shutdown(cfd, SHUT_RDWR);
		_exit(0);
	}
	close(lfd);
	fd = tcp_connect("127.0.0.1", ntohs(sin.sin_port));
	p = (struct tls_params){ .host = "127.0.0.1", .verify = false,
	    .timeout = 10 };
	rc = tls_session_start(fd, &p, &sess, &info, &cause);
	waitpid(pid, NULL, 0);
	cr_assert_eq(rc, TLS_ERR_HANDSHAKE, "rc %d: %s", rc, cause);
	cr_log_info("%s", cause);
	cr_expect_not_null(strstr(cause, "TLS handshake with 127.0.0.1 "
	    "failed: "), "cause %s", cause);
	cr_expect_null(sess);
	close(fd);
}

/* Python (OpenSSL 3) tells close_notify from a bare EOF. */
Test(tls, free_sends_close_notify)
{
	struct tls_params p;
	const char *line;

	py_start("report");
	p = params("localhost");
	expect_ok(start(&p));
	cr_assert_eq(tls_session_write(sess, "12345", 5, deadline_after(5),
	    &cause), 0, "%s",
	    cause);
	tls_session_free(sess);
	sess = NULL;
	close(conn_fd);		/* as conn_close() does */
	conn_fd = -1;
	line = serv_line("END");
	cr_assert_not_null(line, "server said: %s", serv.log);
	cr_expect(strncmp(line, "END clean, data 5\n", 18) == 0,
	    "server said: %s", line);
}

/* A refused server gets an alert, and not one byte of application data. */
Test(tls, refusal_sends_alert_and_no_data)
{
	struct tls_params p;
	const char *line;
	char *pin;

	py_start("report");
	pin = certtool_pin("selfsigned");
	p = params("localhost");
	p.fingerprint = pin;
	expect_refused(start(&p), "pinned");
	free(pin);
	close(conn_fd);
	conn_fd = -1;
	line = serv_line("END");
	cr_assert_not_null(line, "server said: %s", serv.log);
	cr_expect_not_null(strstr(line, "bad certificate"), "server said: %s",
	    line);
	cr_expect_not_null(strstr(line, ", data 0\n"), "server said: %s",
	    line);
}

/* Implicit TLS to a plain-text SMTP port: the greeting is no TLS record. */
Test(tls, plain_text_server)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof sin;
	struct tls_params p;
	char buf[512];
	pid_t pid;
	int lfd, fd, cfd, rc;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(bind(lfd, (struct sockaddr *)&sin, sizeof sin) == 0);
	cr_assert(listen(lfd, 1) == 0);
	cr_assert(getsockname(lfd, (struct sockaddr *)&sin, &len) == 0);
	pid = fork();
	cr_assert(pid != -1);
	if (pid == 0) {
		static const char banner[] = "220 mail.example.org ESMTP\r\n";

		cfd = accept(lfd, NULL, NULL);
		if (cfd != -1 && write(cfd, banner, sizeof banner - 1) > 0) {
			while (read(cfd, buf, sizeof buf) > 0)
				continue;
		}
		_exit(0);
	}
	close(lfd);
	fd = tcp_connect("127.0.0.1", ntohs(sin.sin_port));
	p = (struct tls_params){ .host = "127.0.0.1", .verify = false,
	    .timeout = 10 };
	rc = tls_session_start(fd, &p, &sess, &info, &cause);
	close(fd);
	waitpid(pid, NULL, 0);
	cr_assert_eq(rc, TLS_ERR_HANDSHAKE, "rc %d: %s", rc, cause);
	cr_log_info("%s", cause);
	cr_expect_not_null(strstr(cause, "not speaking TLS"), "cause %s",
	    cause);
}

/* Reads until want bytes arrived; fails the test otherwise. */
static void
read_exactly(char *buf, size_t want)
{
	size_t got = 0;
	ssize_t n;

	while (got < want) {
		n = tls_session_read(sess, buf + got, want - got,
		    deadline_after(5), &cause);
		cr_assert(n > 0, "read returned %zd after %zu of %zu bytes: %s",
		    n, got, want, cause ? cause : "end");
		got += (size_t)n;
	}
}

Test(tls, echo_round_trip)
{
	struct tls_params p;
	char buf[64], *big, *back;
	size_t i, size = 60000;
	int round;

	py_start("echo");
	p = params("localhost");
	expect_ok(start(&p));

	cr_assert_eq(tls_session_write(sess, "hello tls\r\n", 11,
	    deadline_after(5), &cause),
	    0, "%s", cause);
	read_exactly(buf, 1);
	cr_expect_eq(buf[0], 'h');
	cr_expect_eq(tls_session_pending(sess), 10);
	read_exactly(buf + 1, 10);
	cr_expect(memcmp(buf, "hello tls\r\n", 11) == 0);
	cr_expect_eq(tls_session_pending(sess), 0);

	/* Several records each way (but less than the socket buffers hold,
	 * as the echo comes back while we are still writing). */
	big = xmalloc(size);
	back = xmalloc(size);
	for (round = 0; round < 5; round++) {
		for (i = 0; i < size; i++)
			big[i] = (char)((i * 7 + (size_t)round) & 0xff);
		cr_assert_eq(tls_session_write(sess, big, size,
		    deadline_after(5), &cause), 0,
		    "%s", cause);
		read_exactly(back, size);
		cr_assert(memcmp(big, back, size) == 0, "round %d", round);
	}
	free(big);
	free(back);
}

/* The echo backs up, the server stops reading: the write gives up. */
Test(tls, write_times_out)
{
	struct tls_params p;
	size_t size = 64 << 20;
	struct timespec t0, t1;
	char *big;
	int rc;

	py_start("echo");
	p = params("localhost");
	expect_ok(start(&p));
	big = xmalloc(size);
	memset(big, 'x', size);
	errno = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = tls_session_write(sess, big, size, deadline_after(1), &cause);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert_eq(rc, -1);
	cr_expect_eq(errno, ETIMEDOUT);
	cr_expect_not_null(strstr(cause, "could not write to localhost in time"),
	    "cause %s", cause);
	cr_expect(t1.tv_sec - t0.tv_sec < 1 + LATE_S, "took %ld s",
	    (long)(t1.tv_sec - t0.tv_sec));
	free(big);
}

Test(tls, read_times_out)
{
	struct tls_params p;
	char buf[16];
	ssize_t n;

	py_start("echo");
	p = params("localhost");
	expect_ok(start(&p));
	errno = 0;
	n = tls_session_read(sess, buf, sizeof buf, deadline_after(1), &cause);
	cr_assert_eq(n, -1);
	cr_expect_eq(errno, ETIMEDOUT);
	cr_expect_not_null(cause);
	cr_expect_not_null(strstr(cause, "no data from localhost in time"),
	    "cause %s", cause);
}

/* The server's data, then its close_notify: 0, like read(2) at the end. */
Test(tls, read_returns_0_after_close_notify)
{
	struct tls_params p;
	char buf[16];

	py_start("bye");
	p = params("localhost");
	expect_ok(start(&p));
	read_exactly(buf, 4);
	cr_expect(memcmp(buf, "bye\n", 4) == 0);
	cr_expect_eq(tls_session_read(sess, buf, sizeof buf,
	    deadline_after(5), &cause), 0,
	    "%s", cause ? cause : "");
}

/* Without close_notify too: SMTP frames its replies itself. */
Test(tls, read_returns_0_after_bare_close)
{
	struct tls_params p;
	char buf[16];

	py_start("drop");
	p = params("localhost");
	expect_ok(start(&p));
	read_exactly(buf, 4);
	cr_expect(memcmp(buf, "bye\n", 4) == 0);
	cr_expect_eq(tls_session_read(sess, buf, sizeof buf,
	    deadline_after(5), &cause), 0,
	    "%s", cause ? cause : "");
}

Test(tls, missing_ca_file)
{
	struct tls_params p;
	int rc;

	serv_start("good", "NORMAL", NULL);
	p = params("localhost");
	p.ca_file = "/nonexistent/ca.pem";
	rc = start(&p);
	cr_assert_eq(rc, TLS_ERR_CONFIG, "rc %d", rc);
	cr_expect_str_eq(cause, "CA file /nonexistent/ca.pem: No such file or "
	    "directory");
	cr_expect_null(sess);
}

Test(tls, ca_file_without_certificate)
{
	struct tls_params p;
	char *key = tu_cert("ca-key.pem");
	int rc;

	serv_start("good", "NORMAL", NULL);
	p = params("localhost");
	p.ca_file = key;
	rc = start(&p);
	cr_assert_eq(rc, TLS_ERR_CONFIG, "rc %d", rc);
	cr_expect_not_null(strstr(cause, key), "cause %s", cause);
	cr_expect_not_null(strstr(cause, "no PEM certificate"), "cause %s",
	    cause);
	free(key);
}

Test(tls, malformed_pin)
{
	struct tls_params p = { .host = "localhost", .verify = true,
	    .fingerprint = "sha1:abcd", .timeout = 1 };
	int rc;

	rc = tls_session_start(-1, &p, &sess, &info, &cause);
	cr_assert_eq(rc, TLS_ERR_CONFIG);
	cr_expect_not_null(strstr(cause, "sha1:abcd"));
}
