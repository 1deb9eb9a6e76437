/*
 * tests/test_queue.c: core/queue.c, the outbound queue's state machine:
 * state names, the back-off, a profile's policy, where a message given back
 * or held without an attempt goes (queue_released(), queue_hold()), and
 * queue_decide() for every way an attempt can end (SPEC section 7: 250
 * after the data is sent, 4xx and network errors are retried with the
 * back-off, then failed; 5xx fails at once; a message accepted for some
 * recipients retries only the others).
 */
#include <criterion/criterion.h>

#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "core/profile.h"
#include "core/queue.h"

#define nitems(a)	(sizeof (a) / sizeof (a)[0])

/* An arbitrary clock: every decision is relative to it. */
#define NOW	((time_t)1700000000)

/* The profile defaults, spelled out: the tests below depend on them. */
static const struct queue_policy defaults = {
	.retries = 10, .retry_delay = 10, .retry_max = 1800
};

static const char *
rname(enum queue_rcpt_state st)
{
	return queue_rcpt_state_name(st);
}

static void
assert_rcpts(const enum queue_rcpt_state *got,
    const enum queue_rcpt_state *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(got[i], want[i], "recipient %zu is %s, not %s",
		    i, rname(got[i]), rname(want[i]));
}

static void
assert_state(const struct queue_decision *d, enum queue_state want)
{
	cr_assert_eq(d->state, want, "message is %s, not %s",
	    queue_state_name(d->state), queue_state_name(want));
}

/* State names. */

Test(queue, state_names_round_trip)
{
	static const struct {
		enum queue_state	 st;
		const char		*name;
	} t[] = {
		{ QUEUE_QUEUED, "queued" },
		{ QUEUE_SENDING, "sending" },
		{ QUEUE_DEFERRED, "deferred" },
		{ QUEUE_SENT, "sent" },
		{ QUEUE_FAILED, "failed" },
	};

	for (size_t i = 0; i < nitems(t); i++) {
		enum queue_state got = QUEUE_QUEUED;

		cr_assert_str_eq(queue_state_name(t[i].st), t[i].name);
		/* Start from a state that is not the answer. */
		got = t[i].st == QUEUE_FAILED ? QUEUE_QUEUED : QUEUE_FAILED;
		cr_assert_eq(queue_state_parse(t[i].name, &got), 0,
		    "\"%s\" refused", t[i].name);
		cr_assert_eq(got, t[i].st, "\"%s\" parsed as %s", t[i].name,
		    queue_state_name(got));
	}
}

Test(queue, state_parse_refuses_unknown_words)
{
	static const char *const bad[] = {
		"", "Sent", "SENT", "sent ", " sent", "sen", "sentx",
		"pending", "delivered", "?",
	};

	for (size_t i = 0; i < nitems(bad); i++) {
		enum queue_state st = QUEUE_DEFERRED;

		cr_assert_eq(queue_state_parse(bad[i], &st), -1,
		    "\"%s\" accepted as a state", bad[i]);
	}
}

Test(queue, state_name_of_an_out_of_range_value)
{
	cr_assert_str_eq(queue_state_name((enum queue_state)99), "?");
	cr_assert_str_eq(queue_rcpt_state_name((enum queue_rcpt_state)99),
	    "?");
}

Test(queue, rcpt_state_names_round_trip)
{
	static const struct {
		enum queue_rcpt_state	 st;
		const char		*name;
	} t[] = {
		{ QUEUE_RCPT_PENDING, "pending" },
		{ QUEUE_RCPT_SENT, "sent" },
		{ QUEUE_RCPT_FAILED, "failed" },
	};

	for (size_t i = 0; i < nitems(t); i++) {
		enum queue_rcpt_state got;

		cr_assert_str_eq(queue_rcpt_state_name(t[i].st), t[i].name);
		got = t[i].st == QUEUE_RCPT_FAILED ? QUEUE_RCPT_PENDING :
		    QUEUE_RCPT_FAILED;
		cr_assert_eq(queue_rcpt_state_parse(t[i].name, &got), 0,
		    "\"%s\" refused", t[i].name);
		cr_assert_eq(got, t[i].st, "\"%s\" parsed as %s", t[i].name,
		    rname(got));
	}
}

Test(queue, rcpt_state_parse_refuses_unknown_words)
{
	/* Message states that are not recipient states, too. */
	static const char *const bad[] = {
		"", "Pending", "queued", "sending", "deferred", "pend",
		"failed\n",
	};

	for (size_t i = 0; i < nitems(bad); i++) {
		enum queue_rcpt_state st = QUEUE_RCPT_SENT;

		cr_assert_eq(queue_rcpt_state_parse(bad[i], &st), -1,
		    "\"%s\" accepted as a recipient state", bad[i]);
	}
}

Test(queue, only_sent_and_failed_are_final)
{
	cr_assert(queue_state_final(QUEUE_SENT));
	cr_assert(queue_state_final(QUEUE_FAILED));
	cr_assert_not(queue_state_final(QUEUE_QUEUED));
	cr_assert_not(queue_state_final(QUEUE_SENDING));
	cr_assert_not(queue_state_final(QUEUE_DEFERRED));
}

/* Back-off. */

Test(queue, retry_delay_starts_at_retry_delay_and_doubles)
{
	static const long want[] = {
		/* attempts 1..9 */
		10, 20, 40, 80, 160, 320, 640, 1280, 1800,
	};

	for (size_t i = 0; i < nitems(want); i++) {
		int attempts = (int)i + 1;

		cr_assert_eq(queue_retry_delay(&defaults, attempts), want[i],
		    "after attempt %d: %ld s, not %ld", attempts,
		    queue_retry_delay(&defaults, attempts), want[i]);
	}
}

Test(queue, retry_delay_stays_at_the_cap)
{
	static const int attempts[] = { 9, 10, 11, 30, 31, 32, 33, 63, 64,
	    65, 1000, INT_MAX - 1, INT_MAX };

	for (size_t i = 0; i < nitems(attempts); i++)
		cr_assert_eq(queue_retry_delay(&defaults, attempts[i]), 1800,
		    "after attempt %d: %ld s", attempts[i],
		    queue_retry_delay(&defaults, attempts[i]));
}

Test(queue, retry_delay_with_the_largest_profile_values)
{
	/* SPEC section 3: retry_delay up to 9999, retry_max up to 86400. */
	struct queue_policy pol = {
		.retries = 999, .retry_delay = 9999, .retry_max = 86400
	};

	cr_assert_eq(queue_retry_delay(&pol, 1), 9999);
	cr_assert_eq(queue_retry_delay(&pol, 2), 19998);
	cr_assert_eq(queue_retry_delay(&pol, 3), 39996);
	cr_assert_eq(queue_retry_delay(&pol, 4), 79992);
	cr_assert_eq(queue_retry_delay(&pol, 5), 86400);
	cr_assert_eq(queue_retry_delay(&pol, 999), 86400);
	cr_assert_eq(queue_retry_delay(&pol, INT_MAX), 86400);

	pol.retry_delay = 1;
	cr_assert_eq(queue_retry_delay(&pol, 17), 65536);
	cr_assert_eq(queue_retry_delay(&pol, 18), 86400, "2^17 is capped");
	cr_assert_eq(queue_retry_delay(&pol, INT_MAX), 86400);
}

Test(queue, retry_delay_does_not_overflow_near_int_max)
{
	/* Values no profile can hold, but the policy is a plain struct. */
	struct queue_policy pol = {
		.retries = 10, .retry_delay = INT_MAX / 2 + 1,
		.retry_max = INT_MAX
	};

	cr_assert_eq(queue_retry_delay(&pol, 1), INT_MAX / 2 + 1);
	cr_assert_eq(queue_retry_delay(&pol, 2), INT_MAX);
	cr_assert_eq(queue_retry_delay(&pol, INT_MAX), INT_MAX);

	pol.retry_delay = INT_MAX;
	cr_assert_eq(queue_retry_delay(&pol, 1), INT_MAX);
	cr_assert_eq(queue_retry_delay(&pol, INT_MAX), INT_MAX);
}

Test(queue, retry_delay_above_retry_max_is_capped)
{
	/* Validation refuses it; a policy built by hand is still bounded. */
	struct queue_policy pol = {
		.retries = 10, .retry_delay = 100, .retry_max = 50
	};

	cr_assert_eq(queue_retry_delay(&pol, 1), 50);
	cr_assert_eq(queue_retry_delay(&pol, 2), 50);
	cr_assert_eq(queue_retry_delay(&pol, INT_MAX), 50);

	pol.retry_delay = pol.retry_max = 60;
	cr_assert_eq(queue_retry_delay(&pol, 1), 60);
	cr_assert_eq(queue_retry_delay(&pol, 5), 60);
}

/* Policy. */

Test(queue, policy_of_copies_the_profile_keys)
{
	struct profile *p = profile_new("relay");
	struct queue_policy pol = { 0, 0, 0 };

	p->retries = 3;
	p->retry_delay = 7;
	p->retry_max = 99;
	queue_policy_of(p, &pol);
	cr_assert_eq(pol.retries, 3);
	cr_assert_eq(pol.retry_delay, 7);
	cr_assert_eq(pol.retry_max, 99);
	profile_free(p);
}

Test(queue, policy_default_is_the_new_profile_defaults)
{
	struct profile *p = profile_new(NULL);
	struct queue_policy pol = { -1, -1, -1 };

	queue_policy_default(&pol);
	cr_assert_eq(pol.retries, p->retries);
	cr_assert_eq(pol.retry_delay, p->retry_delay);
	cr_assert_eq(pol.retry_max, p->retry_max);
	/* SPEC section 3's table, so a change to either one is noticed. */
	cr_assert_eq(pol.retries, 10);
	cr_assert_eq(pol.retry_delay, 10);
	cr_assert_eq(pol.retry_max, 1800);
	profile_free(p);
}

/* Given back or held without an attempt. */

Test(queue, released_is_queued_if_never_tried_else_deferred)
{
	static const int tried[] = { 1, 2, 11, 1000, INT_MAX };
	static const int never[] = { 0, -1, INT_MIN };

	for (size_t i = 0; i < nitems(tried); i++)
		cr_assert_eq(queue_released(tried[i]), QUEUE_DEFERRED,
		    "%d attempts: %s", tried[i],
		    queue_state_name(queue_released(tried[i])));
	/* Below 0 only by hand: still never tried, never "deferred". */
	for (size_t i = 0; i < nitems(never); i++)
		cr_assert_eq(queue_released(never[i]), QUEUE_QUEUED,
		    "%d attempts: %s", never[i],
		    queue_state_name(queue_released(never[i])));
}

Test(queue, releasing_a_waiting_message_keeps_its_state)
{
	enum queue_rcpt_state r[1] = { QUEUE_RCPT_PENDING };
	const int code[1] = { 451 };
	struct queue_decision d;

	/* A new message is queued with 0 attempts: released, it stays so. */
	cr_assert_eq(queue_released(0), QUEUE_QUEUED);
	/* Every deferral queue_decide() makes is what a release gives back. */
	for (int before = 0; before < defaults.retries; before++) {
		queue_decide(&defaults, before, NOW, r, code, 1,
		    QUEUE_UNREACHED_RETRY, &d);
		assert_state(&d, QUEUE_DEFERRED);
		cr_assert_eq(queue_released(d.attempts), d.state,
		    "after %d attempts", d.attempts);
	}
}

Test(queue, hold_gives_back_marks_held_and_waits_until)
{
	static const int attempts[] = { INT_MIN, -1, 0, 1, 2, 10, INT_MAX };
	struct queue_held h;

	for (size_t i = 0; i < nitems(attempts); i++) {
		memset(&h, 0xa5, sizeof h);
		queue_hold(attempts[i], NOW + 300, &h);
		cr_assert_eq(h.state, queue_released(attempts[i]),
		    "%d attempts: held as %s", attempts[i],
		    queue_state_name(h.state));
		cr_assert_eq(h.held, true);
		cr_assert_eq(h.next_attempt, NOW + 300);
	}
	queue_hold(0, NOW, &h);
	cr_assert_eq(h.state, QUEUE_QUEUED, "never tried");
	queue_hold(3, NOW, &h);
	cr_assert_eq(h.state, QUEUE_DEFERRED, "tried three times");
	cr_assert_eq(h.next_attempt, NOW, "until is the caller's");
}

/* queue_decide(): one attempt. */

Test(queue, all_accepted_is_sent)
{
	enum queue_rcpt_state r[3] = { QUEUE_RCPT_PENDING, QUEUE_RCPT_PENDING,
	    QUEUE_RCPT_PENDING };
	const int code[3] = { 250, 250, 250 };
	const enum queue_rcpt_state want[3] = { QUEUE_RCPT_SENT,
	    QUEUE_RCPT_SENT, QUEUE_RCPT_SENT };
	struct queue_decision d;

	queue_decide(&defaults, 0, NOW, r, code, 3, QUEUE_UNREACHED_RETRY, &d);
	assert_state(&d, QUEUE_SENT);
	cr_assert_eq(d.attempts, 1);
	cr_assert_eq(d.next_attempt, NOW);
	cr_assert_not(d.gave_up);
	assert_rcpts(r, want, 3);

	/* Any 2xx, and the attempt count carries on from attempts_before. */
	r[0] = r[1] = r[2] = QUEUE_RCPT_PENDING;
	const int code2[3] = { 251, 200, 299 };
	queue_decide(&defaults, 4, NOW, r, code2, 3, QUEUE_UNREACHED_RETRY,
	    &d);
	assert_state(&d, QUEUE_SENT);
	cr_assert_eq(d.attempts, 5);
	assert_rcpts(r, want, 3);
}

Test(queue, permanent_refusal_fails_at_once)
{
	enum queue_rcpt_state r[1] = { QUEUE_RCPT_PENDING };
	const int code[1] = { 550 };
	struct queue_decision d;

	/* Ten retries left: a 5xx does not use them. */
	queue_decide(&defaults, 0, NOW, r, code, 1, QUEUE_UNREACHED_RETRY, &d);
	assert_state(&d, QUEUE_FAILED);
	cr_assert_eq(r[0], QUEUE_RCPT_FAILED);
	cr_assert_eq(d.attempts, 1);
	cr_assert_eq(d.next_attempt, NOW);
	cr_assert_not(d.gave_up, "a refusal is not giving up on retries");
}

Test(queue, temporary_failure_defers_by_the_back_off)
{
	enum queue_rcpt_state r[1] = { QUEUE_RCPT_PENDING };
	const int code[1] = { 451 };
	struct queue_decision d;

	queue_decide(&defaults, 0, NOW, r, code, 1, QUEUE_UNREACHED_RETRY, &d);
	assert_state(&d, QUEUE_DEFERRED);
	cr_assert_eq(r[0], QUEUE_RCPT_PENDING);
	cr_assert_eq(d.attempts, 1);
	cr_assert_eq(d.next_attempt, NOW + 10);
	cr_assert_not(d.gave_up);

	/* The third attempt waits delay(3) = 40 s. */
	queue_decide(&defaults, 2, NOW, r, code, 1, QUEUE_UNREACHED_RETRY, &d);
	assert_state(&d, QUEUE_DEFERRED);
	cr_assert_eq(d.attempts, 3);
	cr_assert_eq(d.next_attempt, NOW + queue_retry_delay(&defaults, 3));
	cr_assert_eq(d.next_attempt, NOW + 40);
}

Test(queue, partly_refused_is_sent_with_each_recipient_state)
{
	enum queue_rcpt_state r[3] = { QUEUE_RCPT_PENDING, QUEUE_RCPT_PENDING,
	    QUEUE_RCPT_PENDING };
	const int code[3] = { 250, 550, 250 };
	const enum queue_rcpt_state want[3] = { QUEUE_RCPT_SENT,
	    QUEUE_RCPT_FAILED, QUEUE_RCPT_SENT };
	struct queue_decision d;

	queue_decide(&defaults, 0, NOW, r, code, 3, QUEUE_UNREACHED_RETRY, &d);
	assert_state(&d, QUEUE_SENT);
	assert_rcpts(r, want, 3);
	cr_assert_eq(d.attempts, 1);
	cr_assert_not(d.gave_up);
}

Test(queue, partly_deferred_retries_only_the_deferred_recipient)
{
	enum queue_rcpt_state r[3] = { QUEUE_RCPT_PENDING, QUEUE_RCPT_PENDING,
	    QUEUE_RCPT_PENDING };
	const int code[3] = { 250, 451, 250 };
	const enum queue_rcpt_state want[3] = { QUEUE_RCPT_SENT,
	    QUEUE_RCPT_PENDING, QUEUE_RCPT_SENT };
	struct queue_decision d;

	queue_decide(&defaults, 0, NOW, r, code, 3, QUEUE_UNREACHED_RETRY, &d);
	assert_state(&d, QUEUE_DEFERRED);
	assert_rcpts(r, want, 3);
	cr_assert_eq(d.next_attempt, NOW + 10);
	cr_assert_not(d.gave_up);
}

Test(queue, second_attempt_settles_only_the_pending_recipient)
{
	/* After a first attempt of 250, 451, 250. */
	enum queue_rcpt_state r[3] = { QUEUE_RCPT_SENT, QUEUE_RCPT_PENDING,
	    QUEUE_RCPT_SENT };
	/* Codes for the settled ones must be ignored, whatever they say. */
	const int code[3] = { 550, 250, 421 };
	const enum queue_rcpt_state want[3] = { QUEUE_RCPT_SENT,
	    QUEUE_RCPT_SENT, QUEUE_RCPT_SENT };
	struct queue_decision d;

	queue_decide(&defaults, 1, NOW + 10, r, code, 3,
	    QUEUE_UNREACHED_RETRY, &d);
	assert_state(&d, QUEUE_SENT);
	assert_rcpts(r, want, 3);
	cr_assert_eq(d.attempts, 2);
	cr_assert_eq(d.next_attempt, NOW + 10);
}

Test(queue, second_attempt_refused_keeps_the_message_sent)
{
	enum queue_rcpt_state r[3] = { QUEUE_RCPT_SENT, QUEUE_RCPT_PENDING,
	    QUEUE_RCPT_FAILED };
	const int code[3] = { 550, 550, 250 };
	const enum queue_rcpt_state want[3] = { QUEUE_RCPT_SENT,
	    QUEUE_RCPT_FAILED, QUEUE_RCPT_FAILED };
	struct queue_decision d;

	queue_decide(&defaults, 1, NOW, r, code, 3, QUEUE_UNREACHED_RETRY, &d);
	assert_state(&d, QUEUE_SENT);
	assert_rcpts(r, want, 3);
	cr_assert_not(d.gave_up);
}

Test(queue, failed_recipient_is_never_revived)
{
	/* One failed, one pending: a 250 for the failed one changes nothing. */
	enum queue_rcpt_state r[2] = { QUEUE_RCPT_FAILED, QUEUE_RCPT_PENDING };
	const int code[2] = { 250, 451 };
	const enum queue_rcpt_state want[2] = { QUEUE_RCPT_FAILED,
	    QUEUE_RCPT_PENDING };
	struct queue_decision d;

	queue_decide(&defaults, 1, NOW, r, code, 2, QUEUE_UNREACHED_RETRY, &d);
	assert_state(&d, QUEUE_DEFERRED);
	assert_rcpts(r, want, 2);
	cr_assert_eq(d.next_attempt, NOW + 20);
}

Test(queue, unreached_with_retry_stays_pending)
{
	enum queue_rcpt_state r[2] = { QUEUE_RCPT_PENDING, QUEUE_RCPT_PENDING };
	const int code[2] = { 0, 0 };
	const enum queue_rcpt_state want[2] = { QUEUE_RCPT_PENDING,
	    QUEUE_RCPT_PENDING };
	struct queue_decision d;

	queue_decide(&defaults, 0, NOW, r, code, 2, QUEUE_UNREACHED_RETRY, &d);
	assert_state(&d, QUEUE_DEFERRED);
	assert_rcpts(r, want, 2);
	cr_assert_eq(d.attempts, 1);
	cr_assert_eq(d.next_attempt, NOW + 10);
	cr_assert_not(d.gave_up);
}

Test(queue, unreached_with_fail_fails)
{
	enum queue_rcpt_state r[2] = { QUEUE_RCPT_PENDING, QUEUE_RCPT_PENDING };
	const int code[2] = { 0, 0 };
	const enum queue_rcpt_state want[2] = { QUEUE_RCPT_FAILED,
	    QUEUE_RCPT_FAILED };
	struct queue_decision d;

	queue_decide(&defaults, 0, NOW, r, code, 2, QUEUE_UNREACHED_FAIL, &d);
	assert_state(&d, QUEUE_FAILED);
	assert_rcpts(r, want, 2);
	cr_assert_eq(d.next_attempt, NOW);
	cr_assert_not(d.gave_up, "refused, not out of retries");
}

Test(queue, unreached_fail_leaves_recipients_with_a_code_alone)
{
	/* RCPT answered for the first two, then the data was refused early. */
	enum queue_rcpt_state r[3] = { QUEUE_RCPT_PENDING, QUEUE_RCPT_PENDING,
	    QUEUE_RCPT_PENDING };
	const int code[3] = { 250, 451, 0 };
	const enum queue_rcpt_state want[3] = { QUEUE_RCPT_SENT,
	    QUEUE_RCPT_PENDING, QUEUE_RCPT_FAILED };
	struct queue_decision d;

	queue_decide(&defaults, 0, NOW, r, code, 3, QUEUE_UNREACHED_FAIL, &d);
	assert_state(&d, QUEUE_DEFERRED);
	assert_rcpts(r, want, 3);
}

Test(queue, last_attempt_gives_up_and_keeps_the_sent_ones)
{
	/* attempts_before == retries: this is attempt 1 + retries, the last. */
	enum queue_rcpt_state r[3] = { QUEUE_RCPT_SENT, QUEUE_RCPT_PENDING,
	    QUEUE_RCPT_PENDING };
	const int code[3] = { 0, 451, 0 };
	const enum queue_rcpt_state want[3] = { QUEUE_RCPT_SENT,
	    QUEUE_RCPT_FAILED, QUEUE_RCPT_FAILED };
	struct queue_decision d;

	queue_decide(&defaults, defaults.retries, NOW, r, code, 3,
	    QUEUE_UNREACHED_RETRY, &d);
	assert_state(&d, QUEUE_SENT);
	assert_rcpts(r, want, 3);
	cr_assert(d.gave_up);
	cr_assert_eq(d.attempts, defaults.retries + 1);
	cr_assert_eq(d.next_attempt, NOW);
}

Test(queue, last_attempt_with_none_sent_fails)
{
	enum queue_rcpt_state r[2] = { QUEUE_RCPT_PENDING, QUEUE_RCPT_PENDING };
	const int code[2] = { 451, 0 };
	const enum queue_rcpt_state want[2] = { QUEUE_RCPT_FAILED,
	    QUEUE_RCPT_FAILED };
	struct queue_decision d;

	queue_decide(&defaults, defaults.retries, NOW, r, code, 2,
	    QUEUE_UNREACHED_RETRY, &d);
	assert_state(&d, QUEUE_FAILED);
	assert_rcpts(r, want, 2);
	cr_assert(d.gave_up);
}

Test(queue, one_before_the_last_attempt_still_defers)
{
	enum queue_rcpt_state r[1] = { QUEUE_RCPT_PENDING };
	const int code[1] = { 451 };
	struct queue_decision d;

	queue_decide(&defaults, defaults.retries - 1, NOW, r, code, 1,
	    QUEUE_UNREACHED_RETRY, &d);
	assert_state(&d, QUEUE_DEFERRED);
	cr_assert_eq(r[0], QUEUE_RCPT_PENDING);
	cr_assert_eq(d.attempts, defaults.retries);
	cr_assert_eq(d.next_attempt, NOW + 1800);
	cr_assert_not(d.gave_up);
}

Test(queue, the_last_attempt_may_still_deliver)
{
	enum queue_rcpt_state r[1] = { QUEUE_RCPT_PENDING };
	const int code[1] = { 250 };
	struct queue_decision d;

	queue_decide(&defaults, defaults.retries, NOW, r, code, 1,
	    QUEUE_UNREACHED_RETRY, &d);
	assert_state(&d, QUEUE_SENT);
	cr_assert_eq(r[0], QUEUE_RCPT_SENT);
	cr_assert_not(d.gave_up);
}

Test(queue, attempt_count_at_int_max_gives_up_without_overflow)
{
	/* A count no engine reaches, but the store is only a file. */
	enum queue_rcpt_state r[1] = { QUEUE_RCPT_PENDING };
	const int code[1] = { 451 };
	struct queue_decision d;

	queue_decide(&defaults, INT_MAX, NOW, r, code, 1,
	    QUEUE_UNREACHED_RETRY, &d);
	assert_state(&d, QUEUE_FAILED);
	cr_assert_eq(r[0], QUEUE_RCPT_FAILED);
	cr_assert(d.gave_up);
	cr_assert_eq(d.attempts, INT_MAX);
}

Test(queue, no_retries_fails_on_the_first_temporary_failure)
{
	struct queue_policy pol = {
		.retries = 0, .retry_delay = 10, .retry_max = 1800
	};
	enum queue_rcpt_state r[1] = { QUEUE_RCPT_PENDING };
	const int code[1] = { 421 };
	const int none[1] = { 0 };
	struct queue_decision d;

	queue_decide(&pol, 0, NOW, r, code, 1, QUEUE_UNREACHED_RETRY, &d);
	assert_state(&d, QUEUE_FAILED);
	cr_assert_eq(r[0], QUEUE_RCPT_FAILED);
	cr_assert(d.gave_up);
	cr_assert_eq(d.attempts, 1);

	/* A network error (no code) likewise. */
	r[0] = QUEUE_RCPT_PENDING;
	queue_decide(&pol, 0, NOW, r, none, 1, QUEUE_UNREACHED_RETRY, &d);
	assert_state(&d, QUEUE_FAILED);
	cr_assert_eq(r[0], QUEUE_RCPT_FAILED);
	cr_assert(d.gave_up);
}

Test(queue, whole_life_takes_one_plus_retries_attempts)
{
	/*
	 * A server that always says 451: the message is deferred by 10, 20,
	 * ..., 1280, then 1800 s, and fails on attempt 1 + retries.
	 */
	struct queue_policy pol = defaults;
	enum queue_rcpt_state r[1] = { QUEUE_RCPT_PENDING };
	const int code[1] = { 451 };
	struct queue_decision d = { .state = QUEUE_QUEUED };
	time_t now = NOW;
	long want = 10;
	int attempts = 0;

	while (!queue_state_final(d.state)) {
		cr_assert_lt(attempts, 100, "the message never settles");
		queue_decide(&pol, attempts, now, r, code, 1,
		    QUEUE_UNREACHED_RETRY, &d);
		cr_assert_eq(d.attempts, attempts + 1);
		attempts = d.attempts;
		if (d.state == QUEUE_DEFERRED) {
			cr_assert_eq(d.next_attempt - now, want,
			    "wait after attempt %d: %lld s, not %ld",
			    attempts, (long long)(d.next_attempt - now),
			    want);
			now = d.next_attempt;
			want = want * 2 < 1800 ? want * 2 : 1800;
		}
	}
	assert_state(&d, QUEUE_FAILED);
	cr_assert_eq(attempts, 1 + pol.retries);
	cr_assert(d.gave_up);
}

Test(queue, a_code_that_is_not_smtp_fails_the_recipient)
{
	/* 1xx and 3xx are not final replies; 6xx and up are not SMTP. */
	static const int bad[] = { 100, 199, 354, 600, 999, 1000, 2500, 4500,
	    1, 42, 99, -1, -250, -451, INT_MIN, INT_MAX };

	for (size_t i = 0; i < nitems(bad); i++) {
		enum queue_rcpt_state r[1] = { QUEUE_RCPT_PENDING };
		struct queue_decision d;

		queue_decide(&defaults, 0, NOW, r, &bad[i], 1,
		    QUEUE_UNREACHED_RETRY, &d);
		cr_assert_eq(r[0], QUEUE_RCPT_FAILED, "code %d left the "
		    "recipient %s", bad[i], rname(r[0]));
		assert_state(&d, QUEUE_FAILED);
	}
}

Test(queue, no_recipients_is_failed)
{
	/* r[0] lies past n = 0: a sent one there must not count. */
	enum queue_rcpt_state r[1] = { QUEUE_RCPT_SENT };
	const int code[1] = { 250 };
	struct queue_decision d;

	queue_decide(&defaults, 0, NOW, r, code, 0, QUEUE_UNREACHED_RETRY, &d);
	assert_state(&d, QUEUE_FAILED);
	cr_assert_eq(r[0], QUEUE_RCPT_SENT);
	cr_assert_eq(d.attempts, 1);
}
