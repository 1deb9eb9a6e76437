/*
 * tests/servers.h: the test SMTP servers and certificates for the
 * integration tests: starting tests/servers/smtpd.py (aiosmtpd) and
 * tests/servers/badsmtp.py on a loopback port, making the test PKI with
 * tests/servers/make_certs.sh, and a bare SMTP dialog over a socket.
 *
 * Not an SMTP client: tu_smtp_* only write lines and read replies, so the
 * tests of the servers themselves do not depend on the engine under test.
 */
#ifndef GWSMTP_TESTS_SERVERS_H
#define GWSMTP_TESTS_SERVERS_H

#include <stdbool.h>
#include <stddef.h>

#include "tests/testutil.h"

/* The interpreter that has Debian's python3-aiosmtpd. */
#define TU_PYTHON "/usr/bin/python3"

/*
 * Skips the test (Criterion, exit status of a skipped test) when
 * /usr/bin/python3 cannot import aiosmtpd or certtool or gnutls-cli is not
 * on PATH; under CI=true fails it instead.  Checked once per process.
 * tu_server_start() and tu_certs_dir() call it themselves.
 */
void	 tu_require_servers(void);

struct tu_server;

/*
 * Starts /usr/bin/python3 $GWSMTP_SOURCE_ROOT/tests/servers/<script>
 * --port 0 args... (args NULL-terminated; NULL for none) and waits up to
 * TU_SETTLE_MS for its "PORT <n>" line; fails the test with the server's
 * stderr if it does not come.  The server gets SIGTERM if the test process
 * dies.
 */
struct tu_server *tu_server_start(const char *script, const char *const *args);
int	 tu_server_port(const struct tu_server *s);
/* What the server wrote to stderr so far.  Caller frees. */
char	*tu_server_stderr(const struct tu_server *s);
/* SIGTERM, then SIGKILL after 5 s; reaps it and frees s.  NULL: no-op. */
void	 tu_server_stop(struct tu_server *s);

/*
 * The directory make_certs.sh filled (made once per process, removed at
 * exit); see tests/servers/make_certs.sh for its files.  Owned here: do
 * not free.  tu_cert() returns DIR/name; caller frees.
 */
char	*tu_certs_dir(void);
char	*tu_cert(const char *name);

/*
 * A loopback port that was free a moment ago, for a server that cannot
 * pick its own: another process may take it meanwhile, so the caller
 * tries again if the server cannot listen.
 */
int	 tu_free_port(void);
/*
 * A loopback port where connections are refused until the test process
 * ends: bound (never listening) by this process, so no other can take it.
 */
int	 tu_refused_port(void);

/* A TCP connection to 127.0.0.1:port; fails the test if refused. */
int	 tu_connect(int port);
/* Writes the whole string; fails the test on error. */
void	 tu_send(int fd, const char *s);
/*
 * Reads one complete SMTP reply (all its lines, CRLFs kept) within 10 s.
 * Returns NULL if the peer closed first, or timed out, with what had
 * arrived in *partial if non-NULL (caller frees).  Caller frees.
 */
char	*tu_smtp_reply(int fd, char **partial);
/* Sends line + CRLF and returns tu_smtp_reply(), failing the test on NULL. */
char	*tu_smtp_cmd(int fd, const char *line);
/*
 * Whatever arrives within ms milliseconds, NUL-terminated, its length in
 * *len if non-NULL; stops early at end of file (*eof set) and, with until
 * non-NULL, once until has arrived.  Caller frees.
 */
char	*tu_read_for(int fd, int ms, const char *until, size_t *len,
	    bool *eof);

#endif
