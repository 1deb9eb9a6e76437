/*
 * bench/store_bench.c: the store's share of delivering the queue, without
 * SMTP (bench/pg.sh).  It does to the store what gwengine run's workers do
 * (engine/runner.c) for messages the server accepts: claims the profile's
 * due messages 128 at a time, asks store_changed() before each message,
 * applies a 250 to every recipient with queue_decide(), and records the
 * outcomes 64 to a transaction.
 *
 *   store_bench DB PROFILE
 *
 * DB is a SQLite path or a PostgreSQL URI whose queue holds the messages.
 * Prints one line, "messages N claim_s X check_s Y record_s Z": the
 * messages done and the seconds spent in each kind of call.  Status 1 on a
 * store error.  Links only store/ and core/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/queue.h"
#include "core/xmalloc.h"
#include "store/store.h"

#define CLAIM_MAX	128	/* as engine/runner.c */
#define GROUP_MAX	64
#define LEASE		45
#define REPLY		"250 2.0.0 Ok: queued as BENCH"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
die(const char *what, char *cause)
{
	fprintf(stderr, "store_bench: %s: %s\n", what,
	    cause ? cause : "store error");
	free(cause);
	exit(1);
}

/* m as gwengine leaves it after a 250 to the data for every recipient. */
static void
accepted(struct store_qmsg *m, const struct queue_policy *pol)
{
	enum queue_rcpt_state *states = xcalloc(m->nrcpt, sizeof *states);
	int *codes = xcalloc(m->nrcpt, sizeof *codes);
	struct queue_decision d;

	for (size_t i = 0; i < m->nrcpt; i++) {
		states[i] = m->rcpt[i].state;
		codes[i] = 250;
	}
	queue_decide(pol, m->attempts, time(NULL), states, codes, m->nrcpt,
	    QUEUE_UNREACHED_RETRY, &d);
	for (size_t i = 0; i < m->nrcpt; i++) {
		if (m->rcpt[i].state != QUEUE_RCPT_PENDING)
			continue;
		m->rcpt[i].state = states[i];
		m->rcpt[i].code = 250;
		free(m->rcpt[i].reply);
		m->rcpt[i].reply = xstrdup(REPLY);
	}
	m->state = d.state;
	m->attempts = d.attempts;
	m->next_attempt = d.next_attempt;
	m->held = false;
	free(m->last_reply);
	m->last_reply = xstrdup(REPLY);
	free(states);
	free(codes);
}

int
main(int argc, char **argv)
{
	struct store *s;
	struct queue_policy pol;
	char *cause = NULL, owner[128];
	double claim_s = 0, check_s = 0, record_s = 0, t;
	size_t total = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: store_bench DB PROFILE\n");
		return 64;
	}
	if (store_open(argv[1], "gwengine", &s, &cause) != STORE_OK)
		die("open", cause);
	queue_policy_default(&pol);
	snprintf(owner, sizeof owner, "store_bench/%ld/w1", (long)getpid());
	for (;;) {
		struct store_qmsg *v = NULL;
		size_t n = 0;
		time_t now = time(NULL);

		t = now_s();
		if (store_queue_claim(s, argv[2], owner, now, now + LEASE,
		    CLAIM_MAX, &v, &n, &cause) != STORE_OK)
			die("claim", cause);
		claim_s += now_s() - t;
		if (n == 0)
			break;
		for (size_t i = 0; i < n; i += GROUP_MAX) {
			size_t end = i + GROUP_MAX < n ? i + GROUP_MAX : n;

			for (size_t k = i; k < end; k++) {
				bool changed;

				t = now_s();
				if (store_changed(s, &changed, &cause) !=
				    STORE_OK)
					die("changed", cause);
				check_s += now_s() - t;
				accepted(&v[k], &pol);
			}
			t = now_s();
			if (store_begin(s, &cause) != STORE_OK)
				die("begin", cause);
			for (size_t k = i; k < end; k++) {
				if (store_queue_record(s, &v[k], owner,
				    time(NULL), &cause) != STORE_OK)
					die("record", cause);
			}
			if (store_commit(s, &cause) != STORE_OK)
				die("commit", cause);
			record_s += now_s() - t;
		}
		total += n;
		store_qmsg_free_array(v, n);
	}
	store_close(s);
	printf("messages %zu claim_s %.6f check_s %.6f record_s %.6f\n",
	    total, claim_s, check_s, record_s);
	return 0;
}
