/*
 * Waiters: grants in key then first-come order, always by a post to the
 * waiter's loop; a withdrawal that meets a grant on its way wins; a grant
 * to a stopped loop is lost and goes to the next waiter.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "testutil.h"
#include "runtime/loop.h"
#include "runtime/waiter.h"

struct rec {
	struct loop	*ran_on;
	int		 runs;
	int		 order;		/* when it ran, counting from 1 */
	sem_t		*done;
};

static atomic_int	ran_so_far;

static void
granted(void *arg)
{
	struct rec	*r = arg;

	r->ran_on = loop_current();
	r->runs++;
	r->order = atomic_fetch_add(&ran_so_far, 1) + 1;
	if (r->done != NULL)
		sem_post(r->done);
}

static void
nothing(void *arg)
{
}

/* Withdraw on the waiter's loop. */
struct withdrawal {
	struct waiter		*w;
	enum waiter_outcome	 outcome;
	sem_t			*gate;		/* waited on first, if set */
};

static void
withdraw(void *arg)
{
	struct withdrawal	*wd = arg;

	if (wd->gate != NULL)
		sem_wait_or_fail(wd->gate);
	wd->outcome = waiter_withdraw(wd->w);
}

static void
test_grants_go_by_key_then_first_come(void **state)
{
	struct loop	*a = start_loop(0), *b = start_loop(1);
	struct waitq	 q;
	struct rec	 r[4] = { 0 };
	sem_t		 done;
	int		 i;

	sem_init(&done, 0, 0);
	atomic_store(&ran_so_far, 0);
	waitq_init(&q, "test_grant");
	for (i = 0; i < 4; i++)
		r[i].done = &done;
	waitq_add(&q, a, granted, &r[0], 5, 1);
	waitq_add(&q, b, granted, &r[1], 1, 2);
	waitq_add(&q, a, granted, &r[2], 5, 3);
	waitq_add(&q, b, granted, &r[3], -7, 4);
	assert_int_equal(waitq_len(&q), 4);
	for (i = 0; i < 4; i++) {
		assert_true(waitq_grant(&q));
		sem_wait_or_fail(&done);
	}
	assert_false(waitq_grant(&q));		/* nobody left */
	assert_int_equal(r[3].order, 1);
	assert_int_equal(r[1].order, 2);
	assert_int_equal(r[0].order, 3);
	assert_int_equal(r[2].order, 4);
	assert_ptr_equal(r[0].ran_on, a);
	assert_ptr_equal(r[1].ran_on, b);
	waitq_free(&q);
	finish_loop(a);
	finish_loop(b);
	sem_destroy(&done);
}

struct inline_check {
	struct waitq	*q;
	struct rec	*r;
	int		 runs_after_grant;
};

static void
grant_from_the_waiters_loop(void *arg)
{
	struct inline_check	*c = arg;

	waitq_add_last(c->q, loop_current(), granted, c->r);
	assert_true(waitq_grant(c->q));
	c->runs_after_grant = c->r->runs;
}

/* Even on the waiter's own loop a grant is a post, run after the caller. */
static void
test_a_grant_never_runs_inline(void **state)
{
	struct loop		*a = start_loop(0);
	struct waitq		 q;
	struct rec		 r = { 0 };
	struct inline_check	 c = { .q = &q, .r = &r };

	waitq_init(&q, "test_grant");
	run_on(a, grant_from_the_waiters_loop, &c);
	assert_int_equal(c.runs_after_grant, 0);
	run_on(a, nothing, NULL);
	assert_int_equal(r.runs, 1);
	assert_ptr_equal(r.ran_on, a);
	waitq_free(&q);
	finish_loop(a);
}

/* A grant made while a grant runs on the same loop runs after it. */
struct chain {
	struct waitq		*q;
	struct rec		 first, second, third;
	struct withdrawal	 wd;
	int			 second_runs_after_grant;
};

static void
chain_first(void *arg)
{
	struct chain	*c = arg;

	c->first.runs++;
	waitq_add_last(c->q, loop_current(), granted, &c->second);
	c->wd.w = waitq_add_last(c->q, loop_current(), granted, &c->third);
	assert_true(waitq_grant(c->q));
	c->second_runs_after_grant = c->second.runs;
	assert_true(waitq_grant(c->q));
	withdraw(&c->wd);	/* its grant is on the way: the withdrawal wins */
}

static void
test_grants_made_while_a_grant_runs_follow_it(void **state)
{
	struct loop	*a = start_loop(0);
	struct waitq	 q;
	struct chain	 c = { .q = &q };
	sem_t		 done;

	sem_init(&done, 0, 0);
	atomic_store(&ran_so_far, 0);
	c.second.done = &done;
	waitq_init(&q, "test_grant");
	waitq_add_last(&q, a, chain_first, &c);
	assert_true(waitq_grant(&q));
	sem_wait_or_fail(&done);
	run_on(a, nothing, NULL);
	assert_int_equal(c.first.runs, 1);
	assert_int_equal(c.second_runs_after_grant, 0);
	assert_int_equal(c.second.runs, 1);
	assert_ptr_equal(c.second.ran_on, a);
	assert_int_equal(c.wd.outcome, WAITER_GRANTED);
	assert_int_equal(c.third.runs, 0);
	assert_int_equal(waitq_len(&q), 0);
	waitq_free(&q);
	finish_loop(a);
	sem_destroy(&done);
}

static void
test_a_waiting_waiter_is_withdrawn_at_once(void **state)
{
	struct loop		*a = start_loop(0);
	struct waitq		 q;
	struct rec		 r = { 0 };
	struct withdrawal	 wd = { 0 };

	waitq_init(&q, "test_grant");
	wd.w = waitq_add_last(&q, a, granted, &r);
	run_on(a, withdraw, &wd);
	assert_int_equal(wd.outcome, WAITER_WAITING);
	assert_int_equal(waitq_len(&q), 0);
	assert_false(waitq_grant(&q));
	run_on(a, nothing, NULL);
	assert_int_equal(r.runs, 0);
	waitq_free(&q);
	finish_loop(a);
}

/* A grant made after a withdrawal goes to the next waiter. */
static void
test_a_grant_after_a_withdrawal_goes_to_the_next(void **state)
{
	struct loop		*a = start_loop(0);
	struct waitq		 q;
	struct rec		 r1 = { 0 }, r2 = { 0 };
	struct withdrawal	 wd = { 0 };

	waitq_init(&q, "test_grant");
	wd.w = waitq_add_last(&q, a, granted, &r1);
	waitq_add_last(&q, a, granted, &r2);
	run_on(a, withdraw, &wd);
	assert_true(waitq_grant(&q));
	run_on(a, nothing, NULL);
	assert_int_equal(r1.runs, 0);
	assert_int_equal(r2.runs, 1);
	waitq_free(&q);
	finish_loop(a);
}

/*
 * The loop is held while the grant is posted behind the withdrawal: the
 * withdrawal wins (WAITER_GRANTED, so its caller gives the slot back), and
 * the posted run only frees the waiter.
 */
static void
test_a_withdrawal_after_the_grant_was_posted_wins(void **state)
{
	struct loop		*a = start_loop(0);
	struct waitq		 q;
	struct rec		 r = { 0 };
	sem_t			 gate;
	struct withdrawal	 wd = { .gate = &gate };

	sem_init(&gate, 0, 0);
	waitq_init(&q, "test_grant");
	wd.w = waitq_add_last(&q, a, granted, &r);
	assert_int_equal(loop_post(a, withdraw, &wd), 0);
	assert_true(waitq_grant(&q));		/* queued behind the withdrawal */
	sem_post(&gate);
	run_on(a, nothing, NULL);
	assert_int_equal(wd.outcome, WAITER_GRANTED);
	assert_int_equal(r.runs, 0);
	waitq_free(&q);
	finish_loop(a);
	sem_destroy(&gate);
}

/*
 * A post to a stopped loop fails: that waiter is lost, the grant goes on to
 * the next one, and the lost one's owner frees it by withdrawing.
 */
static void
test_a_grant_to_a_stopped_loop_goes_to_the_next(void **state)
{
	struct loop		*a = start_loop(0), *c = start_loop(2);
	struct waitq		 q;
	struct rec		 r[3] = { 0 };
	struct withdrawal	 wd1 = { 0 }, wd3 = { 0 };

	waitq_init(&q, "test_grant");
	wd1.w = waitq_add_last(&q, c, granted, &r[0]);
	waitq_add_last(&q, a, granted, &r[1]);
	wd3.w = waitq_add_last(&q, c, granted, &r[2]);
	loop_stop(c);
	loop_join(c);
	assert_true(waitq_grant(&q));		/* r[0] lost, r[1] granted */
	assert_int_equal(waitq_len(&q), 1);
	run_on(a, nothing, NULL);
	assert_int_equal(r[1].runs, 1);
	assert_false(waitq_grant(&q));		/* r[2] lost: nobody took it */
	assert_int_equal(waitq_len(&q), 0);
	withdraw(&wd1);				/* its loop has stopped */
	withdraw(&wd3);
	assert_int_equal(wd1.outcome, WAITER_LOST);
	assert_int_equal(wd3.outcome, WAITER_LOST);
	assert_int_equal(r[0].runs + r[2].runs, 0);
	waitq_free(&q);
	finish_loop(a);
	loop_free(c);
}

static void
test_grant_all_counts_every_waiter_and_drop_all_grants_none(void **state)
{
	struct loop		*a = start_loop(0), *b = start_loop(1), *c = start_loop(2);
	struct waitq		 q;
	struct rec		 r[3] = { 0 }, d = { 0 };
	struct withdrawal	 lost = { 0 }, dropped = { 0 };

	waitq_init(&q, "test_grant");
	waitq_add_last(&q, a, granted, &r[0]);
	waitq_add_last(&q, b, granted, &r[1]);
	lost.w = waitq_add_last(&q, c, granted, &r[2]);
	loop_stop(c);
	loop_join(c);
	assert_int_equal(waitq_grant_all(&q), 3);
	run_on(a, nothing, NULL);
	run_on(b, nothing, NULL);
	assert_int_equal(r[0].runs, 1);
	assert_int_equal(r[1].runs, 1);
	withdraw(&lost);
	assert_int_equal(lost.outcome, WAITER_LOST);
	assert_int_equal(r[2].runs, 0);

	dropped.w = waitq_add_last(&q, a, granted, &d);
	assert_int_equal(waitq_drop_all(&q), 1);
	run_on(a, withdraw, &dropped);
	assert_int_equal(dropped.outcome, WAITER_LOST);
	assert_int_equal(d.runs, 0);
	waitq_free(&q);
	finish_loop(a);
	finish_loop(b);
	loop_free(c);
}

/*
 * Two loops share a semaphore of STRESS_SLOTS built on a waitq: their
 * clients take, give back and withdraw at random while grants cross
 * between the loops.  At the end every slot is back and nobody waits.
 */
#define STRESS_SLOTS	3
#define STRESS_CLIENTS	16
#define STRESS_ROUNDS	1500

struct stress_sem {
	pthread_mutex_t	 mu;
	unsigned int	 free;
	struct waitq	 q;
	atomic_uint	 grants;
};

struct stress_client {
	struct stress_sem	*sem;
	struct loop		*loop;
	struct waiter		*w;
	bool			 holding;
};

struct stress_driver {
	struct loop		*loop;
	struct stress_client	 c[STRESS_CLIENTS];
	int			 rounds;
	unsigned int		 seed;
	sem_t			 done;
};

static void
stress_granted(void *arg)
{
	struct stress_client	*c = arg;

	assert_false(c->holding);
	c->w = NULL;
	c->holding = true;
	atomic_fetch_add(&c->sem->grants, 1);
}

/* Under mu: hand a slot on, or put it back. */
static void
stress_pass(struct stress_sem *s)
{
	if (!waitq_grant(&s->q))
		s->free++;
}

static void
stress_acquire(struct stress_client *c)
{
	struct stress_sem	*s = c->sem;

	pthread_mutex_lock(&s->mu);
	if (s->free > 0 && waitq_len(&s->q) == 0) {
		s->free--;
		c->holding = true;
	} else
		c->w = waitq_add_last(&s->q, c->loop, stress_granted, c);
	pthread_mutex_unlock(&s->mu);
}

static void
stress_release(struct stress_client *c)
{
	pthread_mutex_lock(&c->sem->mu);
	stress_pass(c->sem);
	pthread_mutex_unlock(&c->sem->mu);
	c->holding = false;
}

static void
stress_cancel(struct stress_client *c)
{
	pthread_mutex_lock(&c->sem->mu);
	if (waiter_withdraw(c->w) == WAITER_GRANTED)
		stress_pass(c->sem);
	pthread_mutex_unlock(&c->sem->mu);
	c->w = NULL;
}

static void
stress_round(void *arg)
{
	struct stress_driver	*d = arg;
	struct stress_client	*c;
	int			 i;

	for (i = 0; i < STRESS_CLIENTS; i++) {
		c = &d->c[i];
		if (c->holding)
			stress_release(c);
		else if (c->w != NULL) {
			if (rand_r(&d->seed) % 3 == 0)
				stress_cancel(c);
		} else if (rand_r(&d->seed) % 2 == 0)
			stress_acquire(c);
	}
	if (--d->rounds > 0)
		assert_int_equal(loop_post(d->loop, stress_round, d), 0);
	else
		sem_post(&d->done);
}

static void
stress_finish(void *arg)
{
	struct stress_driver	*d = arg;
	int			 i;

	for (i = 0; i < STRESS_CLIENTS; i++) {
		if (d->c[i].w != NULL)
			stress_cancel(&d->c[i]);
		if (d->c[i].holding)
			stress_release(&d->c[i]);
	}
}

static void
test_slots_survive_grants_racing_withdrawals_across_loops(void **state)
{
	struct stress_sem	 s = { .free = STRESS_SLOTS };
	struct stress_driver	 d[2];
	int			 i, j;

	pthread_mutex_init(&s.mu, NULL);
	waitq_init(&s.q, "stress_grant");
	for (i = 0; i < 2; i++) {
		d[i] = (struct stress_driver){ .loop = start_loop(i),
		    .rounds = STRESS_ROUNDS, .seed = 17 + i };
		sem_init(&d[i].done, 0, 0);
		for (j = 0; j < STRESS_CLIENTS; j++)
			d[i].c[j] = (struct stress_client){ .sem = &s, .loop = d[i].loop };
	}
	for (i = 0; i < 2; i++)
		assert_int_equal(loop_post(d[i].loop, stress_round, &d[i]), 0);
	for (i = 0; i < 2; i++)
		sem_wait_or_fail(&d[i].done);
	for (i = 0; i < 2; i++)
		run_on(d[i].loop, stress_finish, &d[i]);
	for (i = 0; i < 2; i++)
		run_on(d[i].loop, nothing, NULL);	/* posted runs that are void */
	for (i = 0; i < 2; i++) {
		for (j = 0; j < STRESS_CLIENTS; j++) {
			assert_null(d[i].c[j].w);
			assert_false(d[i].c[j].holding);
		}
	}
	assert_int_equal(s.free, STRESS_SLOTS);
	assert_int_equal(waitq_len(&s.q), 0);
	assert_true(atomic_load(&s.grants) > 0);
	for (i = 0; i < 2; i++) {
		finish_loop(d[i].loop);
		sem_destroy(&d[i].done);
	}
	waitq_free(&s.q);
	pthread_mutex_destroy(&s.mu);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grants_go_by_key_then_first_come),
		cmocka_unit_test(test_a_grant_never_runs_inline),
		cmocka_unit_test(test_grants_made_while_a_grant_runs_follow_it),
		cmocka_unit_test(test_a_waiting_waiter_is_withdrawn_at_once),
		cmocka_unit_test(test_a_grant_after_a_withdrawal_goes_to_the_next),
		cmocka_unit_test(test_a_withdrawal_after_the_grant_was_posted_wins),
		cmocka_unit_test(test_a_grant_to_a_stopped_loop_goes_to_the_next),
		cmocka_unit_test(test_grant_all_counts_every_waiter_and_drop_all_grants_none),
		cmocka_unit_test(test_slots_survive_grants_racing_withdrawals_across_loops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
