/*
 * engine/tls.h: the TLS client the engine needs, and nothing more: one
 * handshake on a connected socket, verification by chain and host name or
 * by a pinned SHA-256 fingerprint, a TLS version floor, and what probe
 * reports.  tls_gnutls.c implements it; no other file includes GnuTLS.
 */
#ifndef GWSMTP_ENGINE_TLS_H
#define GWSMTP_ENGINE_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

struct tls_params {
	const char	*host;		/* SNI (names only) and name check */
	bool		 verify;	/* chain and host name */
	const char	*ca_file;	/* NULL: the system trust store */
	const char	*fingerprint;	/* "sha256:<64 hex>": pins the leaf */
	bool		 tls13_only;	/* tls_min 1.3; otherwise 1.2 */
	int		 timeout;	/* seconds for the whole handshake
					   (engine/deadline.h) */
};

/* What the handshake found, for logs and probe.  Strings are owned. */
struct tls_info {
	char	*version;	/* "TLS1.3" */
	char	*cipher;	/* "TLS_AES_256_GCM_SHA384" */
	char	*subject;	/* leaf certificate DN */
	char	*issuer;
	time_t	 not_before;
	time_t	 not_after;
	char	*fingerprint;	/* "sha256:..." of the leaf */
	bool	 verified;	/* chain+name, or the pin, matched (never
				   true with verify=false and no pin) */
	char	*verdict;	/* "ok", or why not ("expired", ...) */
};

enum tls_result {
	TLS_OK = 0,
	TLS_ERR_HANDSHAKE = -1,	/* no common version/cipher, alert, EOF */
	TLS_ERR_VERIFY = -2,	/* certificate refused; info says why */
	TLS_ERR_TIMEOUT = -3,
	TLS_ERR_IO = -4,
	TLS_ERR_CONFIG = -5	/* unusable ca_file, fingerprint or host */
};

struct tls_session;

/*
 * Handshakes over the connected socket fd (left non-blocking; the caller
 * still owns and closes it).  Fills info as far as it got, overwriting it
 * without freeing (tls_info_clear() it either way).  Verification is done
 * before this returns, so the caller sends nothing to a refused server.
 * A fingerprint is enforced whenever set, whatever verify says.  A
 * timeout <= 0 means no limit.
 */
int	 tls_session_start(int fd, const struct tls_params *p,
	     struct tls_session **out, struct tls_info *info, char **cause);
/*
 * Like read(2)/write(2) on the session; they wait (poll) until deadline
 * (engine/deadline.h; -1: no limit).  read returns 0 when the server closes, with or without
 * close_notify (SMTP frames its replies, so truncation shows there), -1
 * with *cause on error or time-out (errno ETIMEDOUT for the latter).
 * write sends all of buf or fails.
 */
ssize_t	 tls_session_read(struct tls_session *t, void *buf, size_t len,
	     long long deadline, char **cause);
int	 tls_session_write(struct tls_session *t, const void *buf, size_t len,
	     long long deadline, char **cause);
/* Bytes already decrypted and waiting inside the TLS layer. */
size_t	 tls_session_pending(struct tls_session *t);
/* Sends close_notify (best effort) and frees.  NULL is a no-op. */
void	 tls_session_free(struct tls_session *t);
void	 tls_info_clear(struct tls_info *info);

#endif
