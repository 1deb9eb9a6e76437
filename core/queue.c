/*
 * core/queue.c: the outbound queue's state machine (core/queue.h).
 */
#include "core/queue.h"

#include <limits.h>
#include <string.h>

#define nitems(a)	(sizeof (a) / sizeof (a)[0])

static const char *const state_names[] = {
	[QUEUE_QUEUED] = "queued",
	[QUEUE_SENDING] = "sending",
	[QUEUE_DEFERRED] = "deferred",
	[QUEUE_SENT] = "sent",
	[QUEUE_FAILED] = "failed",
};

static const char *const rcpt_names[] = {
	[QUEUE_RCPT_PENDING] = "pending",
	[QUEUE_RCPT_SENT] = "sent",
	[QUEUE_RCPT_FAILED] = "failed",
};

const char *
queue_state_name(enum queue_state st)
{
	return (size_t)st < nitems(state_names) ? state_names[st] : "?";
}

int
queue_state_parse(const char *word, enum queue_state *out)
{
	for (size_t i = 0; i < nitems(state_names); i++) {
		if (strcmp(word, state_names[i]) == 0) {
			*out = (enum queue_state)i;
			return 0;
		}
	}
	return -1;
}

const char *
queue_rcpt_state_name(enum queue_rcpt_state st)
{
	return (size_t)st < nitems(rcpt_names) ? rcpt_names[st] : "?";
}

int
queue_rcpt_state_parse(const char *word, enum queue_rcpt_state *out)
{
	for (size_t i = 0; i < nitems(rcpt_names); i++) {
		if (strcmp(word, rcpt_names[i]) == 0) {
			*out = (enum queue_rcpt_state)i;
			return 0;
		}
	}
	return -1;
}

bool
queue_state_final(enum queue_state st)
{
	return st == QUEUE_SENT || st == QUEUE_FAILED;
}

enum queue_state
queue_released(int attempts)
{
	return attempts > 0 ? QUEUE_DEFERRED : QUEUE_QUEUED;
}

void
queue_hold(int attempts, time_t until, struct queue_held *out)
{
	out->state = queue_released(attempts);
	out->held = true;
	out->next_attempt = until;
}

void
queue_policy_of(const struct profile *p, struct queue_policy *out)
{
	out->retries = p->retries;
	out->retry_delay = p->retry_delay;
	out->retry_max = p->retry_max;
}

void
queue_policy_default(struct queue_policy *out)
{
	struct profile *p = profile_new(NULL);

	queue_policy_of(p, out);
	profile_free(p);
}

long
queue_retry_delay(const struct queue_policy *pol, int attempts)
{
	long delay = pol->retry_delay > 0 ? pol->retry_delay : 1;
	long cap = pol->retry_max > 0 ? pol->retry_max : delay;

	/* Doubling stops at the cap, so the loop ends and never overflows. */
	for (int i = 1; i < attempts && delay < cap; i++)
		delay *= 2;
	return delay < cap ? delay : cap;
}

void
queue_decide(const struct queue_policy *pol, int attempts_before,
    time_t now, enum queue_rcpt_state *rcpt, const int *code, size_t n,
    enum queue_unreached unreached, struct queue_decision *out)
{
	size_t pending = 0, sent = 0;

	memset(out, 0, sizeof *out);
	/* The count comes from the store: saturate rather than overflow. */
	out->attempts = attempts_before < INT_MAX ? attempts_before + 1 :
	    INT_MAX;
	out->next_attempt = now;
	for (size_t i = 0; i < n; i++) {
		if (rcpt[i] != QUEUE_RCPT_PENDING)
			continue;
		/*
		 * Ranges, not code / 100: that would take 1..99 and -99..-1
		 * for "no reply" and leave such a recipient pending.
		 */
		if (code[i] == 0) {
			if (unreached == QUEUE_UNREACHED_FAIL)
				rcpt[i] = QUEUE_RCPT_FAILED;
		} else if (code[i] >= 200 && code[i] <= 299)
			rcpt[i] = QUEUE_RCPT_SENT;
		else if (code[i] >= 400 && code[i] <= 499)
			;	/* stays pending */
		else	/* 5xx, and anything that is not SMTP */
			rcpt[i] = QUEUE_RCPT_FAILED;
	}
	for (size_t i = 0; i < n; i++)
		pending += rcpt[i] == QUEUE_RCPT_PENDING;
	if (pending > 0 && out->attempts > pol->retries) {
		for (size_t i = 0; i < n; i++) {
			if (rcpt[i] == QUEUE_RCPT_PENDING)
				rcpt[i] = QUEUE_RCPT_FAILED;
		}
		out->gave_up = true;
		pending = 0;
	}
	for (size_t i = 0; i < n; i++)
		sent += rcpt[i] == QUEUE_RCPT_SENT;
	if (pending > 0) {
		out->state = QUEUE_DEFERRED;
		out->next_attempt = now + queue_retry_delay(pol,
		    out->attempts);
	} else
		out->state = sent > 0 ? QUEUE_SENT : QUEUE_FAILED;
}
