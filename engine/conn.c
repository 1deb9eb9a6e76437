/*
 * engine/conn.c: one buffered connection to an SMTP server, plain or TLS.
 *
 * Writes collect in a 64 KiB buffer and leave in large writes (a message's
 * data is never a syscall per line); TCP_NODELAY is set because SMTP is a
 * conversation of small commands, where Nagle's algorithm only adds delay.
 * Every wait is a poll(2) bounded by a deadline (engine/deadline.h): the
 * profile's timeout bounds a whole reply, each 64 KiB written and each
 * connect, so a peer that trickles bytes cannot stretch it.  Sent bytes are wiped
 * from the buffer, since AUTH commands pass through it.
 */
#include "engine/conn.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/xmalloc.h"
#include "engine/deadline.h"

#define WBUF_SIZE	65536
#define RBUF_MIN	4096

struct conn {
	int			 fd;
	int			 timeout;	/* seconds */
	char			*host;
	char			*peer;
	struct tls_session	*tls;
	char			*rbuf;
	size_t			 roff;		/* consumed up to here */
	size_t			 rlen;		/* filled up to here */
	size_t			 rcap;
	char			*wbuf;
	size_t			 wlen;
};

static char *
format_peer(const struct sockaddr *sa)
{
	char addr[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, addr, sizeof addr);
		port = ntohs(s6->sin6_port);
		return xasprintf("[%s]:%d", addr, port);
	}
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, addr, sizeof addr);
		port = ntohs(s4->sin_port);
	}
	return xasprintf("%s:%d", addr, port);
}

/*
 * Waits for events on fd until deadline; 0 ready, -1 timeout (errno
 * ETIMEDOUT) or error.
 */
static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd = { fd, events, 0 };
	int n;

	do
		n = poll(&pfd, 1, deadline_poll_ms(deadline));
	while (n == -1 && errno == EINTR);
	if (n == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	return n < 0 ? -1 : 0;
}

/* Connects one address; returns the socket or -1 with errno. */
static int
connect_one(const struct addrinfo *ai, int timeout)
{
	int fd, err = 0, one = 1;
	socklen_t len = sizeof err;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		if (errno != EINPROGRESS)
			goto fail;
		if (wait_fd(fd, POLLOUT, deadline_after(timeout)) == -1)
			goto fail;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			goto fail;
		if (err != 0) {
			errno = err;
			goto fail;
		}
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

int
conn_open(const char *host, int port, int timeout, struct conn **out,
    char **cause)
{
	struct addrinfo hints = { 0 }, *res = NULL, *ai;
	char service[16], *tried = xstrdup("");
	int rc, fd = -1, last = 0;
	struct conn *c;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
	snprintf(service, sizeof service, "%d", port);
	if ((rc = getaddrinfo(host, service, &hints, &res)) != 0) {
		*cause = xasprintf("cannot resolve %s: %s", host,
		    gai_strerror(rc));
		free(tried);
		return CONN_ERR_RESOLVE;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		char *peer = format_peer(ai->ai_addr), *next;

		if ((fd = connect_one(ai, timeout)) != -1) {
			c = xcalloc(1, sizeof *c);
			c->fd = fd;
			c->timeout = timeout;
			c->host = xstrdup(host);
			c->peer = peer;
			c->wbuf = xmalloc(WBUF_SIZE);
			freeaddrinfo(res);
			free(tried);
			*out = c;
			return CONN_OK;
		}
		last = errno;
		next = xasprintf("%s%s%s: %s", tried, *tried ? ", " : "", peer,
		    last == ETIMEDOUT ? "no answer within the timeout" :
		    strerror(last));
		free(tried);
		tried = next;
		free(peer);
	}
	freeaddrinfo(res);
	*cause = xasprintf("cannot connect to %s port %d (%s)", host, port,
	    tried);
	free(tried);
	return last == ETIMEDOUT ? CONN_ERR_TIMEOUT : CONN_ERR_CONNECT;
}

const char *
conn_peer(const struct conn *c)
{
	return c->peer;
}

bool
conn_is_tls(const struct conn *c)
{
	return c->tls != NULL;
}

int
conn_start_tls(struct conn *c, const struct tls_params *p,
    struct tls_info *info, char **cause)
{
	int rc;

	if (conn_flush(c, cause) != CONN_OK)
		return CONN_ERR_IO;
	rc = tls_session_start(c->fd, p, &c->tls, info, cause);
	switch (rc) {
	case TLS_OK:
		return CONN_OK;
	case TLS_ERR_VERIFY:
		return CONN_ERR_VERIFY;
	case TLS_ERR_TIMEOUT:
		return CONN_ERR_TIMEOUT;
	case TLS_ERR_CONFIG:
		return CONN_ERR_CONFIG;
	default:
		break;
	}
	return CONN_ERR_TLS;
}

/* Reads what is available (waiting until deadline) into rbuf. */
static int
fill(struct conn *c, long long deadline, char **cause)
{
	ssize_t n;

	if (c->roff > 0) {
		memmove(c->rbuf, c->rbuf + c->roff, c->rlen - c->roff);
		c->rlen -= c->roff;
		c->roff = 0;
	}
	if (c->rcap - c->rlen < RBUF_MIN) {
		c->rcap = c->rcap ? c->rcap * 2 : RBUF_MIN * 2;
		c->rbuf = xreallocarray(c->rbuf, c->rcap, 1);
	}
	if (c->tls != NULL) {
		char *why = NULL;

		n = tls_session_read(c->tls, c->rbuf + c->rlen,
		    c->rcap - c->rlen, deadline, &why);
		if (n < 0 && errno == ETIMEDOUT) {
			free(why);
			goto timeout;
		}
		if (n < 0) {
			*cause = why;
			return CONN_ERR_IO;
		}
	} else {
		for (;;) {
			n = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
			if (n >= 0)
				break;
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				*cause = xasprintf("reading from %s: %s",
				    c->peer, strerror(errno));
				return CONN_ERR_IO;
			}
			if (wait_fd(c->fd, POLLIN, deadline) == -1)
				goto timeout;
		}
	}
	if (n == 0) {
		*cause = xasprintf("%s closed the connection%s", c->peer,
		    c->rlen > 0 ? " in the middle of a reply" : "");
		return CONN_ERR_CLOSED;
	}
	c->rlen += (size_t)n;
	return CONN_OK;

timeout:
	*cause = xasprintf("%s did not send a complete reply within %d s%s",
	    c->peer, c->timeout, c->rlen > c->roff ? " (it sent part of one)" :
	    "");
	return CONN_ERR_TIMEOUT;
}

int
conn_read_reply(struct conn *c, struct smtp_reply *r, char **cause)
{
	long long deadline = deadline_after(c->timeout);
	size_t used;
	int rc;

	for (;;) {
		char *why = NULL;

		rc = smtp_reply_parse(c->rbuf ? c->rbuf + c->roff : "",
		    c->rlen - c->roff, r, &used, &why);
		if (rc == SMTP_REPLY_COMPLETE) {
			c->roff += used;
			return CONN_OK;
		}
		if (rc == SMTP_REPLY_INVALID) {
			*cause = xasprintf("%s sent an invalid reply: %s",
			    c->peer, why);
			free(why);
			return CONN_ERR_REPLY;
		}
		if ((rc = fill(c, deadline, cause)) != CONN_OK)
			return rc;
	}
}

size_t
conn_unread(const struct conn *c)
{
	return c->rlen - c->roff + (c->tls ? tls_session_pending(c->tls) : 0);
}

/* Writes all of buf (at most WBUF_SIZE bytes) now, within the timeout. */
static int
write_chunk(struct conn *c, const char *buf, size_t len, char **cause)
{
	long long deadline = deadline_after(c->timeout);

	while (len > 0) {
		ssize_t n;

		if (c->tls != NULL) {
			char *why = NULL;

			if (tls_session_write(c->tls, buf, len, deadline,
			    &why) == 0)
				return CONN_OK;
			if (errno != ETIMEDOUT) {
				*cause = why;
				return CONN_ERR_IO;
			}
			free(why);
			goto timeout;
		}
		/* MSG_NOSIGNAL: a server that hangs up is an error, not SIGPIPE. */
		n = send(c->fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno != EAGAIN) {
			*cause = xasprintf("writing to %s: %s", c->peer,
			    strerror(errno));
			return errno == EPIPE || errno == ECONNRESET ?
			    CONN_ERR_CLOSED : CONN_ERR_IO;
		}
		if (wait_fd(c->fd, POLLOUT, deadline) == -1)
			goto timeout;
	}
	return CONN_OK;

timeout:
	*cause = xasprintf("%s did not take %zu bytes within %d s", c->peer,
	    len, c->timeout);
	return CONN_ERR_TIMEOUT;
}

/*
 * Writes all of buf now, WBUF_SIZE bytes at a time, each within the
 * timeout: a large message may take as long as it needs on a slow link,
 * while a peer that stops reading ends it.
 */
static int
write_all(struct conn *c, const char *buf, size_t len, char **cause)
{
	while (len > 0) {
		size_t n = len < WBUF_SIZE ? len : WBUF_SIZE;
		int rc;

		if ((rc = write_chunk(c, buf, n, cause)) != CONN_OK)
			return rc;
		buf += n;
		len -= n;
	}
	return CONN_OK;
}

int
conn_flush(struct conn *c, char **cause)
{
	int rc;

	if (c->wlen == 0)
		return CONN_OK;
	rc = write_all(c, c->wbuf, c->wlen, cause);
	explicit_bzero(c->wbuf, c->wlen);
	c->wlen = 0;
	return rc;
}

int
conn_write(struct conn *c, const void *buf, size_t len, char **cause)
{
	int rc;

	if (c->wlen + len > WBUF_SIZE && (rc = conn_flush(c, cause)) != CONN_OK)
		return rc;
	if (len >= WBUF_SIZE)
		return write_all(c, buf, len, cause);
	memcpy(c->wbuf + c->wlen, buf, len);
	c->wlen += len;
	return CONN_OK;
}

int
conn_printf(struct conn *c, char **cause, const char *fmt, ...)
{
	va_list ap;
	char *line;
	int rc;

	va_start(ap, fmt);
	line = xvasprintf(fmt, ap);
	va_end(ap);
	rc = conn_write(c, line, strlen(line), cause);
	free_secret(line);
	return rc;
}

void
conn_close(struct conn *c)
{
	if (c == NULL)
		return;
	tls_session_free(c->tls);
	close(c->fd);
	if (c->rbuf != NULL)
		explicit_bzero(c->rbuf, c->rcap);
	free(c->rbuf);
	explicit_bzero(c->wbuf, WBUF_SIZE);
	free(c->wbuf);
	free(c->host);
	free(c->peer);
	free(c);
}
