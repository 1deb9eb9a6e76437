/*
 * engine/tls_gnutls.c: engine/tls.h on GnuTLS, the only file of the project
 * that includes a GnuTLS header.
 *
 * A client handshake on a socket someone else connected (and closes), with
 * poll-based time limits, then our own verification: the chain, dates and
 * host name by GnuTLS against the system store or ca_file, or instead a
 * SHA-256 pin of the leaf.  Verification runs after the handshake rather
 * than inside it so that a refused certificate is still described in
 * tls_info; nothing is sent to the server before the verdict is known.
 *
 * It is not a general TLS wrapper: no client certificates, no session
 * resumption, no renegotiation, no DANE/OCSP, and it logs nothing.
 */
#include "engine/tls.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "core/xmalloc.h"
#include "engine/deadline.h"

/* The floor is explicit: GnuTLS's NORMAL on Debian 12 still has TLS 1.0/1.1. */
#define PRIORITY_TLS12	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define PRIORITY_TLS13	"NORMAL:-VERS-ALL:+VERS-TLS1.3"

/* How long close_notify or a refusal alert may take, in milliseconds. */
#define GOODBYE_MS	1000

struct tls_session {
	gnutls_session_t			 session;
	gnutls_certificate_credentials_t	 cred;
	int					 fd;
	char					*host;	/* for messages */
	const char				*floor;	/* "1.2" */
};

static pthread_once_t	 global_once = PTHREAD_ONCE_INIT;
static int		 global_error;

static void
global_init(void)
{
	/* Never deinitialised: GnuTLS's own destructor does that at exit. */
	global_error = gnutls_global_init();
}

/* Sets *cause if the caller asked for it. */
static void __attribute__((format(printf, 2, 3)))
set_cause(char **cause, const char *fmt, ...)
{
	va_list ap;

	if (cause == NULL)
		return;
	va_start(ap, fmt);
	*cause = xvasprintf(fmt, ap);
	va_end(ap);
}

/*
 * Waits until the socket is ready the way GnuTLS last wanted it.  Returns 0
 * when ready, TLS_ERR_TIMEOUT at the deadline, TLS_ERR_IO if poll fails.
 */
static int
wait_ready(struct tls_session *t, long long deadline, char **cause)
{
	struct pollfd pfd;
	int n;

	pfd.fd = t->fd;
	pfd.events = gnutls_record_get_direction(t->session) ? POLLOUT : POLLIN;
	for (;;) {
		pfd.revents = 0;
		n = poll(&pfd, 1, deadline_poll_ms(deadline));
		if (n > 0)
			return 0;
		if (n == 0) {
			errno = ETIMEDOUT;
			return TLS_ERR_TIMEOUT;
		}
		if (errno != EINTR) {
			set_cause(cause, "poll: %s", strerror(errno));
			return TLS_ERR_IO;
		}
	}
}

/* "A TLS fatal alert has been received (Handshake failed)". */
static char *
error_text(struct tls_session *t, int ret)
{
	const char *text = gnutls_strerror(ret), *alert = NULL;
	size_t len = strlen(text);

	/* Without its full stop: callers append to it. */
	if (len > 0 && text[len - 1] == '.')
		len--;
	if (ret == GNUTLS_E_FATAL_ALERT_RECEIVED ||
	    ret == GNUTLS_E_WARNING_ALERT_RECEIVED)
		alert = gnutls_alert_get_name(gnutls_alert_get(t->session));
	if (alert != NULL)
		return xasprintf("%.*s (%s)", (int)len, text, alert);
	return xstrndup(text, len);
}

static bool
is_ip_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 ||
	    inet_pton(AF_INET6, host, buf) == 1;
}

/*
 * Normalises a pin ("sha256:" then 64 hex digits, colons between pairs
 * allowed, any case) into out (65 bytes, lower-case hex).
 */
static int
parse_pin(const char *pin, char *out)
{
	const char *p;
	size_t n = 0;

	if (strncasecmp(pin, "sha256:", 7) != 0)
		return -1;
	for (p = pin + 7; *p != '\0'; p++) {
		if (*p == ':')
			continue;
		if (!isxdigit((unsigned char)*p) || n == 64)
			return -1;
		out[n++] = (char)tolower((unsigned char)*p);
	}
	out[n] = '\0';
	return n == 64 ? 0 : -1;
}

/* Loads the trust anchors.  A ca_file that gives none is always an error. */
static int
load_trust(struct tls_session *t, const struct tls_params *p, bool needed,
    char **cause)
{
	int fd, n;

	if (p->ca_file != NULL) {
		/* GnuTLS says only "Error while reading file": ask the OS. */
		if ((fd = open(p->ca_file, O_RDONLY | O_CLOEXEC)) == -1) {
			*cause = xasprintf("CA file %s: %s", p->ca_file,
			    strerror(errno));
			return -1;
		}
		close(fd);
		n = gnutls_certificate_set_x509_trust_file(t->cred, p->ca_file,
		    GNUTLS_X509_FMT_PEM);
		if (n < 0) {
			*cause = xasprintf("CA file %s: %s", p->ca_file,
			    gnutls_strerror(n));
			return -1;
		}
		if (n == 0) {
			*cause = xasprintf("CA file %s holds no PEM "
			    "certificate", p->ca_file);
			return -1;
		}
		return 0;
	}
	n = gnutls_certificate_set_x509_system_trust(t->cred);
	if (n <= 0 && needed) {
		*cause = xasprintf("no system trust store: %s",
		    n < 0 ? gnutls_strerror(n) : "it holds no certificate");
		return -1;
	}
	return 0;
}

/* Copies a GnuTLS-allocated DN into an owned string. */
static char *
take_datum(gnutls_datum_t *d)
{
	char *s;

	s = xstrndup((const char *)d->data, d->size);
	gnutls_free(d->data);
	return s;
}

/*
 * Fills info from the negotiated session and the leaf certificate; the
 * leaf's SHA-256 (hex) goes to hex.  Returns -1 if there is no X.509 leaf.
 */
static int
describe(struct tls_session *t, struct tls_info *info, char *hex)
{
	const gnutls_datum_t *peers;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t d;
	unsigned char md[32];
	size_t mdlen = sizeof md;
	unsigned int npeers = 0;
	const char *s;
	char *desc;
	size_t i;

	s = gnutls_protocol_get_name(gnutls_protocol_get_version(t->session));
	info->version = xstrdup(s != NULL ? s : "unknown");
	if ((s = gnutls_ciphersuite_get(t->session)) != NULL)
		info->cipher = xstrdup(s);
	else {
		desc = gnutls_session_get_desc(t->session);
		info->cipher = xstrdup(desc != NULL ? desc : "unknown");
		gnutls_free(desc);
	}

	if (gnutls_certificate_type_get(t->session) != GNUTLS_CRT_X509)
		return -1;
	peers = gnutls_certificate_get_peers(t->session, &npeers);
	if (peers == NULL || npeers == 0)
		return -1;
	if (gnutls_x509_crt_init(&crt) < 0)
		return -1;
	if (gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER) < 0)
		goto fail;
	if (gnutls_x509_crt_get_dn3(crt, &d, 0) >= 0)
		info->subject = take_datum(&d);
	if (gnutls_x509_crt_get_issuer_dn3(crt, &d, 0) >= 0)
		info->issuer = take_datum(&d);
	info->not_before = gnutls_x509_crt_get_activation_time(crt);
	info->not_after = gnutls_x509_crt_get_expiration_time(crt);
	if (gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, md,
	    &mdlen) < 0 || mdlen != sizeof md)
		goto fail;
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	info->fingerprint = xasprintf("sha256:%s", hex);
	gnutls_x509_crt_deinit(crt);
	return 0;

fail:
	gnutls_x509_crt_deinit(crt);
	return -1;
}

/* Whether the server sent a lone certificate that names itself as issuer. */
static bool
self_signed(struct tls_session *t)
{
	const gnutls_datum_t *peers;
	gnutls_x509_crt_t crt;
	unsigned int npeers = 0;
	bool yes = false;

	peers = gnutls_certificate_get_peers(t->session, &npeers);
	if (peers == NULL || npeers != 1 || gnutls_x509_crt_init(&crt) < 0)
		return false;
	if (gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER) >= 0)
		yes = gnutls_x509_crt_check_issuer(crt, crt) != 0;
	gnutls_x509_crt_deinit(crt);
	return yes;
}

/*
 * Why GnuTLS refused the chain, in a few words ("expired, hostname
 * 127.0.0.1 not in the certificate").  GnuTLS's own status text is the
 * fallback for bits not named here.
 */
static char *
status_reason(struct tls_session *t, unsigned int status)
{
	static const struct {
		unsigned int	 bit;
		const char	*text;
	} bits[] = {
		{ GNUTLS_CERT_REVOKED, "revoked" },
		{ GNUTLS_CERT_SIGNER_NOT_FOUND,
		  "signer not found or not trusted" },
		{ GNUTLS_CERT_SIGNER_NOT_CA, "signer is not a CA" },
		{ GNUTLS_CERT_INSECURE_ALGORITHM, "insecure algorithm" },
		{ GNUTLS_CERT_NOT_ACTIVATED, "not activated yet" },
		{ GNUTLS_CERT_EXPIRED, "expired" },
		{ GNUTLS_CERT_SIGNATURE_FAILURE, "bad signature" },
		{ GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE,
		  "signer constraints violated" },
		{ GNUTLS_CERT_PURPOSE_MISMATCH, "not for TLS servers" },
	};
	gnutls_datum_t d;
	unsigned int known = GNUTLS_CERT_INVALID;
	char *s = NULL, *tmp;
	const char *text;
	size_t i;

	for (i = 0; i < sizeof bits / sizeof bits[0]; i++) {
		if ((status & bits[i].bit) == 0)
			continue;
		known |= bits[i].bit;
		text = bits[i].text;
		if (bits[i].bit == GNUTLS_CERT_SIGNER_NOT_FOUND &&
		    !(status & GNUTLS_CERT_UNEXPECTED_OWNER) && self_signed(t))
			text = "self-signed and not trusted";
		tmp = s == NULL ? xstrdup(text) : xasprintf("%s, %s", s, text);
		free(s);
		s = tmp;
	}
	if (status & GNUTLS_CERT_UNEXPECTED_OWNER) {
		known |= GNUTLS_CERT_UNEXPECTED_OWNER;
		tmp = s == NULL ?
		    xasprintf("hostname %s not in the certificate", t->host) :
		    xasprintf("%s, hostname %s not in the certificate", s,
		    t->host);
		free(s);
		s = tmp;
	}
	if ((status & ~known) == 0 && s != NULL)
		return s;
	free(s);
	if (gnutls_certificate_verification_status_print(status,
	    GNUTLS_CRT_X509, &d, 0) < 0)
		return xasprintf("verification status 0x%x", status);
	s = take_datum(&d);
	/* "The certificate is NOT trusted. The ... . " without the tail. */
	for (i = strlen(s); i > 0 && (s[i - 1] == ' ' || s[i - 1] == '.'); i--)
		s[i - 1] = '\0';
	return s;
}

/*
 * Sends close_notify, or a bad_certificate alert when refusing, waiting at
 * most GOODBYE_MS: the server's answer is not awaited (GNUTLS_SHUT_WR).
 */
static void
goodbye(struct tls_session *t, bool refuse)
{
	long long deadline = deadline_now() + GOODBYE_MS;
	int ret;

	for (;;) {
		if (refuse) {
			ret = gnutls_alert_send(t->session, GNUTLS_AL_FATAL,
			    GNUTLS_A_BAD_CERTIFICATE);
		} else
			ret = gnutls_bye(t->session, GNUTLS_SHUT_WR);
		if (ret != GNUTLS_E_AGAIN && ret != GNUTLS_E_INTERRUPTED)
			return;
		if (ret == GNUTLS_E_AGAIN && wait_ready(t, deadline, NULL) != 0)
			return;
	}
}

static void
session_free(struct tls_session *t, bool refuse)
{
	if (t == NULL)
		return;
	if (t->session != NULL) {
		if (t->fd != -1)
			goodbye(t, refuse);
		gnutls_deinit(t->session);
	}
	if (t->cred != NULL)
		gnutls_certificate_free_credentials(t->cred);
	free(t->host);
	free(t);
}

/* Runs the handshake to its end within the deadline. */
static int
handshake(struct tls_session *t, int timeout, char **cause)
{
	long long deadline = deadline_after(timeout);
	char *why;
	int ret, rc, alert;

	for (;;) {
		ret = gnutls_handshake(t->session);
		if (ret == GNUTLS_E_SUCCESS)
			return TLS_OK;
		if (ret == GNUTLS_E_AGAIN) {
			rc = wait_ready(t, deadline, cause);
			if (rc == TLS_ERR_TIMEOUT) {
				set_cause(cause, "TLS handshake with %s timed "
				    "out after %d s", t->host, timeout);
			}
			if (rc != 0)
				return rc;
			continue;
		}
		if (!gnutls_error_is_fatal(ret))
			continue;	/* interrupted, or a warning alert */
		if (ret == GNUTLS_E_TIMEDOUT) {
			errno = ETIMEDOUT;
			set_cause(cause, "TLS handshake with %s timed out",
			    t->host);
			return TLS_ERR_TIMEOUT;
		}
		why = error_text(t, ret);
		alert = ret == GNUTLS_E_FATAL_ALERT_RECEIVED ?
		    (int)gnutls_alert_get(t->session) : -1;
		if (ret == GNUTLS_E_UNSUPPORTED_VERSION_PACKET ||
		    alert == GNUTLS_A_PROTOCOL_VERSION) {
			set_cause(cause, "TLS handshake with %s failed: %s; it "
			    "does not offer TLS %s or later (tls_min)",
			    t->host, why, t->floor);
		} else if (ret == GNUTLS_E_UNEXPECTED_PACKET ||
		    ret == GNUTLS_E_UNEXPECTED_PACKET_LENGTH) {
			/* Typically an SMTP greeting read as a TLS record. */
			set_cause(cause, "TLS handshake with %s failed: %s; it "
			    "is not speaking TLS (a plain-text port?)",
			    t->host, why);
		} else if (alert == GNUTLS_A_HANDSHAKE_FAILURE &&
		    strcmp(t->floor, "1.3") == 0) {
			/* What a TLS 1.2 server answers a 1.3-only hello. */
			set_cause(cause, "TLS handshake with %s failed: %s; "
			    "perhaps it does not offer TLS 1.3 (tls_min)",
			    t->host, why);
		} else {
			set_cause(cause, "TLS handshake with %s failed: %s",
			    t->host, why);
		}
		free(why);
		return TLS_ERR_HANDSHAKE;
	}
}

int
tls_session_start(int fd, const struct tls_params *p, struct tls_session **out,
    struct tls_info *info, char **cause)
{
	struct tls_session *t;
	const char *prio, *errpos;
	char pin[65], hex[65], *reason = NULL;
	unsigned int status;
	size_t len;
	int flags, ret, rc;
	bool pinned, have_cert;

	memset(info, 0, sizeof *info);
	*out = NULL;

	pthread_once(&global_once, global_init);
	if (global_error < 0) {
		set_cause(cause, "GnuTLS initialisation failed: %s",
		    gnutls_strerror(global_error));
		return TLS_ERR_IO;
	}

	pinned = p->fingerprint != NULL;
	if (pinned && parse_pin(p->fingerprint, pin) != 0) {
		set_cause(cause, "fingerprint '%s' is not 'sha256:' followed "
		    "by 64 hex digits", p->fingerprint);
		return TLS_ERR_CONFIG;
	}
	if (p->host == NULL && p->verify && !pinned) {
		set_cause(cause, "no host name to verify the certificate "
		    "against");
		return TLS_ERR_CONFIG;
	}

	t = xcalloc(1, sizeof *t);
	t->fd = -1;
	if (p->host == NULL)
		t->host = xstrdup("the server");
	else if (p->host[0] == '[' && (len = strlen(p->host)) > 2 &&
	    p->host[len - 1] == ']')
		t->host = xstrndup(p->host + 1, len - 2);	/* "[::1]" */
	else
		t->host = xstrdup(p->host);

	if ((ret = gnutls_certificate_allocate_credentials(&t->cred)) < 0) {
		t->cred = NULL;
		set_cause(cause, "GnuTLS credentials: %s",
		    gnutls_strerror(ret));
		rc = TLS_ERR_IO;
		goto fail;
	}
	if (load_trust(t, p, p->verify && !pinned, &reason) != 0) {
		set_cause(cause, "%s", reason);
		rc = TLS_ERR_CONFIG;
		goto fail;
	}

	ret = gnutls_init(&t->session, GNUTLS_CLIENT | GNUTLS_NONBLOCK |
	    GNUTLS_NO_SIGNAL);
	if (ret < 0) {
		t->session = NULL;
		set_cause(cause, "GnuTLS session: %s", gnutls_strerror(ret));
		rc = TLS_ERR_IO;
		goto fail;
	}
	prio = p->tls13_only ? PRIORITY_TLS13 : PRIORITY_TLS12;
	t->floor = p->tls13_only ? "1.3" : "1.2";
	if ((ret = gnutls_priority_set_direct(t->session, prio, &errpos)) < 0) {
		set_cause(cause, "TLS priority '%s' at '%s': %s", prio, errpos,
		    gnutls_strerror(ret));
		rc = TLS_ERR_IO;
		goto fail;
	}
	ret = gnutls_credentials_set(t->session, GNUTLS_CRD_CERTIFICATE,
	    t->cred);
	if (ret < 0) {
		set_cause(cause, "GnuTLS credentials: %s",
		    gnutls_strerror(ret));
		rc = TLS_ERR_IO;
		goto fail;
	}
	/* RFC 6066: SNI carries DNS names only, never an address. */
	if (p->host != NULL && !is_ip_literal(t->host)) {
		ret = gnutls_server_name_set(t->session, GNUTLS_NAME_DNS,
		    t->host, strlen(t->host));
		if (ret < 0) {
			set_cause(cause, "server name %s: %s", t->host,
			    gnutls_strerror(ret));
			rc = TLS_ERR_CONFIG;
			goto fail;
		}
	}
	/* Our deadline governs, not GnuTLS's own default. */
	gnutls_handshake_set_timeout(t->session, GNUTLS_INDEFINITE_TIMEOUT);

	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1) {
		set_cause(cause, "fcntl: %s", strerror(errno));
		rc = TLS_ERR_IO;
		goto fail;
	}
	t->fd = fd;
	gnutls_transport_set_int(t->session, fd);

	if ((rc = handshake(t, p->timeout, cause)) != TLS_OK) {
		t->fd = -1;	/* nothing to say goodbye to */
		goto fail;
	}

	/*
	 * The handshake is done and nothing has been sent on it: now decide.
	 * A pin replaces the chain and name checks; verify=false skips them
	 * but still says what they would have found.
	 */
	have_cert = describe(t, info, hex) == 0;
	if (!have_cert)
		reason = xstrdup("the server sent no X.509 certificate");
	else if (pinned) {
		if (strcmp(hex, pin) != 0) {
			reason = xasprintf("its fingerprint %s is not the "
			    "pinned sha256:%s", info->fingerprint, pin);
		}
	} else {
		ret = gnutls_certificate_verify_peers3(t->session,
		    p->host != NULL ? t->host : NULL, &status);
		if (ret < 0)
			reason = xstrdup(gnutls_strerror(ret));
		else if (status != 0)
			reason = status_reason(t, status);
	}

	if (reason == NULL && (pinned || p->verify)) {
		info->verified = true;
		info->verdict = xstrdup("ok");
	} else if (!pinned && !p->verify) {
		info->verdict = reason == NULL ?
		    xstrdup("not verified (verify=false); it would pass") :
		    xasprintf("not verified (verify=false); it would be "
		    "refused: %s", reason);
	} else {
		info->verdict = xstrdup(reason);
		set_cause(cause, "certificate for %s refused: %s", t->host,
		    reason);
		session_free(t, true);
		free(reason);
		return TLS_ERR_VERIFY;
	}
	free(reason);
	*out = t;
	return TLS_OK;

fail:
	session_free(t, false);
	free(reason);
	return rc;
}

ssize_t
tls_session_read(struct tls_session *t, void *buf, size_t len,
    long long deadline, char **cause)
{
	ssize_t n;
	char *why;
	int rc;

	if (len == 0)
		return 0;
	for (;;) {
		n = gnutls_record_recv(t->session, buf, len);
		if (n >= 0)
			return n;
		switch (n) {
		case GNUTLS_E_AGAIN:
			rc = wait_ready(t, deadline, cause);
			if (rc == TLS_ERR_TIMEOUT) {
				set_cause(cause, "no data from %s in time",
				    t->host);
				errno = ETIMEDOUT;
			}
			if (rc != 0)
				return -1;
			continue;
		case GNUTLS_E_PREMATURE_TERMINATION:
			/*
			 * Closed without close_notify, as many SMTP servers
			 * do after QUIT.  Not an error here: SMTP replies are
			 * framed, so a truncated one shows up in conn.c.
			 */
			return 0;
		}
		/* Interrupted, a warning alert, or a renegotiation request
		 * (ignored, which RFC 5246 allows). */
		if (!gnutls_error_is_fatal((int)n))
			continue;
		why = error_text(t, (int)n);
		set_cause(cause, "TLS read from %s: %s", t->host, why);
		free(why);
		errno = EIO;
		return -1;
	}
}

int
tls_session_write(struct tls_session *t, const void *buf, size_t len,
    long long deadline, char **cause)
{
	const char *p = buf;
	ssize_t n;
	char *why;
	int rc;

	while (len > 0) {
		/* After E_AGAIN GnuTLS wants the same buffer again: it is. */
		n = gnutls_record_send(t->session, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == GNUTLS_E_AGAIN) {
			rc = wait_ready(t, deadline, cause);
			if (rc == TLS_ERR_TIMEOUT) {
				set_cause(cause, "could not write to %s in "
				    "time", t->host);
				errno = ETIMEDOUT;
			}
			if (rc != 0)
				return -1;
			continue;
		}
		if (n == GNUTLS_E_INTERRUPTED)
			continue;
		why = n == 0 ? xstrdup("nothing written") :
		    error_text(t, (int)n);
		set_cause(cause, "TLS write to %s: %s", t->host, why);
		free(why);
		errno = EIO;
		return -1;
	}
	return 0;
}

size_t
tls_session_pending(struct tls_session *t)
{
	return gnutls_record_check_pending(t->session);
}

void
tls_session_free(struct tls_session *t)
{
	session_free(t, false);
}

void
tls_info_clear(struct tls_info *info)
{
	if (info == NULL)
		return;
	free(info->version);
	free(info->cipher);
	free(info->subject);
	free(info->issuer);
	free(info->fingerprint);
	free(info->verdict);
	memset(info, 0, sizeof *info);
}
