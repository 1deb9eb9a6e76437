/*
 * core/queue.h: the outbound queue's state machine, without I/O.
 *
 * A queued message moves queued -> sending -> sent | deferred | failed, and
 * deferred -> sending again when its next attempt is due.  Each recipient
 * has its own outcome: a message accepted for two of three recipients
 * records which two, and only the third is tried again.  This module
 * decides the states, attempt counts and back-off, after an attempt and
 * when a message is given back or held without one; the store keeps them
 * and the engine (engine/runner.c) feeds it what the server said.
 */
#ifndef GWSMTP_CORE_QUEUE_H
#define GWSMTP_CORE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/profile.h"

enum queue_state {
	QUEUE_QUEUED,		/* never tried */
	QUEUE_SENDING,		/* claimed by an engine (under a lease) */
	QUEUE_DEFERRED,		/* tried, waiting for its next attempt */
	QUEUE_SENT,		/* every recipient settled, one at least sent */
	QUEUE_FAILED		/* every recipient settled, none sent */
};

enum queue_rcpt_state {
	QUEUE_RCPT_PENDING,	/* still to be delivered */
	QUEUE_RCPT_SENT,	/* the server took it (250 after the data) */
	QUEUE_RCPT_FAILED	/* refused for good, or given up on */
};

/* "queued", "sending", "deferred", "sent", "failed". */
const char	*queue_state_name(enum queue_state st);
/* 0, or -1 for a word that names no state. */
int		 queue_state_parse(const char *word, enum queue_state *out);
/* "pending", "sent", "failed". */
const char	*queue_rcpt_state_name(enum queue_rcpt_state st);
int		 queue_rcpt_state_parse(const char *word,
		     enum queue_rcpt_state *out);
/* Sent and failed are final: nothing more happens to the message. */
bool		 queue_state_final(enum queue_state st);

/*
 * The state a message goes back to when it is given back without an
 * attempt (released by its engine, recovered from a dead one, or held):
 * queued if it was never tried, else deferred.  Giving back is not an
 * attempt: attempts stays as it is.  A count below 0, which only a
 * database changed by hand holds, counts as never tried.
 */
enum queue_state queue_released(int attempts);

/* What a hold changes in a message (queue_hold()). */
struct queue_held {
	enum queue_state state;		/* queue_released(attempts) */
	bool		 held;		/* true: waiting for configuration */
	time_t		 next_attempt;	/* when it is looked at again */
};

/*
 * A message that made attempts attempts, held while its configuration
 * cannot send it (profile inactive, missing or invalid, SMTP disabled):
 * given back as by queue_released(), marked held, looked at again at
 * until.  Its attempts and recipients are left as they are.
 */
void	 queue_hold(int attempts, time_t until, struct queue_held *out);

/* A profile's back-off (SPEC section 3: retries, retry_delay, retry_max). */
struct queue_policy {
	int	retries;	/* attempts after the first */
	int	retry_delay;	/* seconds before the second attempt */
	int	retry_max;	/* cap on the doubling delay */
};

void	 queue_policy_of(const struct profile *p, struct queue_policy *out);
/* The profile defaults: what a message whose profile is gone waits by. */
void	 queue_policy_default(struct queue_policy *out);
/*
 * Seconds to wait after the attempts-th failed attempt (attempts >= 1):
 * retry_delay, doubled for each attempt after the first, capped at
 * retry_max.  Never overflows.
 */
long	 queue_retry_delay(const struct queue_policy *pol, int attempts);

/* How an attempt ended for the recipients it has no reply code for. */
enum queue_unreached {
	QUEUE_UNREACHED_RETRY,	/* link, TLS, 4xx before RCPT: try again */
	QUEUE_UNREACHED_FAIL	/* 5xx before RCPT, message too large */
};

/* The message after one attempt. */
struct queue_decision {
	enum queue_state state;		/* deferred, sent or failed */
	int		 attempts;	/* attempts made, this one included */
	time_t		 next_attempt;	/* deferred: when; else now */
	bool		 gave_up;	/* pending recipients failed for
					   running out of retries */
};

/*
 * Applies one attempt to a message that had made attempts_before attempts.
 * rcpt[0..n) are its recipients' states, updated in place; code[i] is the
 * reply that settles recipient i in this attempt: the RCPT reply when it
 * was refused, else the reply to the end of the data; 0 when the attempt
 * never got that far for it.  Recipients not pending are left alone.
 *   2xx -> sent;  5xx -> failed;  4xx -> pending;
 *   0   -> pending, or failed with QUEUE_UNREACHED_FAIL.
 * Pending recipients left after the attempt defer the message by the
 * back-off, or fail when it had its 1 + retries attempts.  A message
 * with no pending recipient is sent if one recipient was sent, else failed.
 */
void	 queue_decide(const struct queue_policy *pol, int attempts_before,
	     time_t now, enum queue_rcpt_state *rcpt, const int *code,
	     size_t n, enum queue_unreached unreached,
	     struct queue_decision *out);

#endif
