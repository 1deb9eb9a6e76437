/*
 * engine/conn.h: one connection to an SMTP server: TCP (IPv4 or IPv6,
 * TCP_NODELAY, a time limit on every operation), buffered both ways, with
 * TLS switched on at the start (implicit) or after STARTTLS (explicit).
 *
 * It moves bytes and frames replies; the protocol is smtp.c's.
 */
#ifndef GWSMTP_ENGINE_CONN_H
#define GWSMTP_ENGINE_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/smtp_reply.h"
#include "engine/tls.h"

enum conn_result {
	CONN_OK = 0,
	CONN_ERR_RESOLVE = -1,	/* no address for the name */
	CONN_ERR_CONNECT = -2,	/* refused or unreachable */
	CONN_ERR_TIMEOUT = -3,
	CONN_ERR_CLOSED = -4,	/* the server closed the connection */
	CONN_ERR_IO = -5,
	CONN_ERR_TLS = -6,	/* handshake failed */
	CONN_ERR_VERIFY = -7,	/* certificate refused */
	CONN_ERR_REPLY = -8,	/* a reply that is not SMTP */
	CONN_ERR_CONFIG = -9	/* unusable ca_file or fingerprint */
};

struct conn;

/*
 * Resolves host and connects to its addresses in turn, each within timeout
 * seconds; timeout also bounds every later read and write.
 */
int	 conn_open(const char *host, int port, int timeout, struct conn **out,
	     char **cause);
/* "192.0.2.1:25" or "[2001:db8::1]:25": the address connected to. */
const char *conn_peer(const struct conn *c);
/* Handshakes TLS now (implicit TLS, or after a 220 to STARTTLS). */
int	 conn_start_tls(struct conn *c, const struct tls_params *p,
	     struct tls_info *info, char **cause);
bool	 conn_is_tls(const struct conn *c);
/* Reads until one whole reply is buffered and returns it. */
int	 conn_read_reply(struct conn *c, struct smtp_reply *r, char **cause);
/* Bytes received and not yet consumed as replies (TLS layer included). */
size_t	 conn_unread(const struct conn *c);
/* Buffered writes: conn_flush() sends them. */
int	 conn_write(struct conn *c, const void *buf, size_t len, char **cause);
int	 conn_printf(struct conn *c, char **cause, const char *fmt, ...)
	     __attribute__((format(printf, 3, 4)));
int	 conn_flush(struct conn *c, char **cause);
/* Closes (TLS close_notify first).  NULL is a no-op. */
void	 conn_close(struct conn *c);

#endif
