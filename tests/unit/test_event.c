/*
 * Named events: a set releases every waiter on its own loop, a removed
 * waiter never runs (even when its wake-up is already posted), and events
 * nobody needs are freed.
 */
#include "autoconf.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "testutil.h"
#include "core/event.h"
#include "runtime/loop.h"

/* One waiter as a test sees it: where its function ran, and how often. */
struct wake_rec {
	struct loop	*ran_on;
	int		 runs;
	sem_t		*done;		/* posted when it runs, if set */
};

static void
record_wake(void *arg)
{
	struct wake_rec	*rec = arg;

	rec->ran_on = loop_current();
	rec->runs++;
	if (rec->done != NULL)
		sem_post(rec->done);
}

struct wait_call {
	const char			*name;
	struct wake_rec			*rec;
	struct waiter			*waiter;
};

static void
do_wait(void *arg)
{
	struct wait_call	*c = arg;

	c->waiter = named_event_wait(c->name, record_wake, c->rec);
}

static void
do_unwait(void *arg)
{
	struct wait_call	*c = arg;

	named_event_unwait(c->waiter);
}

static void
do_nothing(void *arg)
{
}

static void
assert_event(const char *name, bool set, size_t waiters)
{
	bool	is_set;
	size_t	n;

	named_event_get(name, &is_set, &n);
	assert_int_equal(is_set, set);
	assert_int_equal(n, waiters);
}

static void
test_set_before_wait_returns_at_once(void **state)
{
	struct loop	*loop = start_loop(0);
	struct wake_rec	 rec = { 0 };
	struct wait_call c = { .name = "ready", .rec = &rec };
	size_t		 released = 99;

	assert_int_equal(named_event_set("ready", &released), 0);
	assert_int_equal(released, 0);
	run_on(loop, do_wait, &c);
	assert_null(c.waiter);
	run_on(loop, do_nothing, NULL);
	assert_int_equal(rec.runs, 0);		/* nothing posted either */
	assert_event("ready", true, 0);
	finish_loop(loop);
	named_event_cleanup();
}

static void
test_get_of_an_unknown_name_creates_nothing(void **state)
{
	assert_event("never-seen", false, 0);
	assert_int_equal(named_event_clear("never-seen"), 0);
	assert_int_equal(named_event_count(), 0);
}

static void
test_set_releases_waiters_on_two_loops(void **state)
{
	struct loop	*loops[2] = { start_loop(0), start_loop(1) };
	struct wake_rec	 rec[4] = { 0 };
	struct wait_call c[4];
	sem_t		 done;
	size_t		 released = 0;
	int		 i;

	sem_init(&done, 0, 0);
	for (i = 0; i < 4; i++) {
		rec[i].done = &done;
		c[i] = (struct wait_call){ .name = "deploy", .rec = &rec[i] };
		run_on(loops[i % 2], do_wait, &c[i]);
		assert_non_null(c[i].waiter);
	}
	assert_event("deploy", false, 4);

	/* From a thread that is no loop at all. */
	assert_int_equal(named_event_set("deploy", &released), 0);
	assert_int_equal(released, 4);
	for (i = 0; i < 4; i++)
		sem_wait_or_fail(&done);
	for (i = 0; i < 4; i++) {
		assert_int_equal(rec[i].runs, 1);
		assert_ptr_equal(rec[i].ran_on, loops[i % 2]);
	}
	assert_event("deploy", true, 0);
	finish_loop(loops[0]);
	finish_loop(loops[1]);
	sem_destroy(&done);
	named_event_cleanup();
}

struct order_state {
	struct waiter			*waiters[3];
	int				 next;
	int				 seen[3];
};

static struct order_state	order;

static void
record_order(void *arg)
{
	order.seen[order.next++] = (int)(intptr_t)arg;
}

static void
wait_three_in_order(void *arg)
{
	int	i;

	for (i = 0; i < 3; i++)
		order.waiters[i] = named_event_wait("fifo", record_order,
		    (void *)(intptr_t)i);
}

static void
test_waiters_on_one_loop_run_in_the_order_they_waited(void **state)
{
	struct loop	*loop = start_loop(0);
	int		 i;

	memset(&order, 0, sizeof(order));
	run_on(loop, wait_three_in_order, NULL);
	for (i = 0; i < 3; i++)
		assert_non_null(order.waiters[i]);
	assert_int_equal(named_event_set("fifo", NULL), 0);
	run_on(loop, do_nothing, NULL);
	assert_int_equal(order.next, 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(order.seen[i], i);
	finish_loop(loop);
	named_event_cleanup();
}

static void
test_clear_makes_waiters_wait_again(void **state)
{
	struct loop	*loop = start_loop(0);
	struct wake_rec	 rec = { 0 };
	struct wait_call c = { .name = "gate", .rec = &rec };
	sem_t		 done;

	sem_init(&done, 0, 0);
	rec.done = &done;
	named_event_set("gate", NULL);
	assert_int_equal(named_event_clear("gate"), 0);
	assert_event("gate", false, 0);
	assert_int_equal(named_event_count(), 0);	/* clear and unused: freed */

	run_on(loop, do_wait, &c);
	assert_non_null(c.waiter);
	assert_event("gate", false, 1);
	/* A clear leaves the waiter waiting. */
	assert_int_equal(named_event_clear("gate"), 1);
	run_on(loop, do_nothing, NULL);
	assert_int_equal(rec.runs, 0);

	named_event_set("gate", NULL);
	sem_wait_or_fail(&done);
	assert_int_equal(rec.runs, 1);
	finish_loop(loop);
	sem_destroy(&done);
	named_event_cleanup();
}

static void
test_a_removed_waiter_never_runs(void **state)
{
	struct loop	*loop = start_loop(0);
	struct wake_rec	 rec[2] = { 0 };
	struct wait_call c[2] = {
		{ .name = "go", .rec = &rec[0] },
		{ .name = "go", .rec = &rec[1] },
	};
	sem_t		 done;
	size_t		 released = 0;

	sem_init(&done, 0, 0);
	rec[1].done = &done;
	run_on(loop, do_wait, &c[0]);
	run_on(loop, do_wait, &c[1]);
	assert_event("go", false, 2);
	run_on(loop, do_unwait, &c[0]);
	assert_event("go", false, 1);

	named_event_set("go", &released);
	assert_int_equal(released, 1);
	sem_wait_or_fail(&done);
	run_on(loop, do_nothing, NULL);
	assert_int_equal(rec[0].runs, 0);
	assert_int_equal(rec[1].runs, 1);
	finish_loop(loop);
	sem_destroy(&done);
	named_event_cleanup();
}

struct gated_unwait {
	sem_t			 gate;
	struct wait_call	*call;
};

static void
unwait_when_let_go(void *arg)
{
	struct gated_unwait	*g = arg;

	sem_wait_or_fail(&g->gate);
	named_event_unwait(g->call->waiter);
}

/*
 * The set takes the waiter and posts its wake-up while the loop is busy;
 * the loop then removes the waiter before the wake-up runs.  The wake-up
 * must find it removed and do nothing (and ASan sees no use after free).
 */
static void
test_a_wakeup_racing_a_removal_is_harmless(void **state)
{
	struct loop		*loop = start_loop(0);
	struct wake_rec		 rec = { 0 };
	struct wait_call	 c = { .name = "race", .rec = &rec };
	struct gated_unwait	 g = { .call = &c };
	size_t			 released = 0;

	sem_init(&g.gate, 0, 0);
	run_on(loop, do_wait, &c);
	assert_non_null(c.waiter);
	assert_int_equal(loop_post(loop, unwait_when_let_go, &g), 0);
	assert_int_equal(named_event_set("race", &released), 0);
	assert_int_equal(released, 1);		/* the wake-up is queued */
	sem_post(&g.gate);
	run_on(loop, do_nothing, NULL);		/* after the removal and the wake-up */
	assert_int_equal(rec.runs, 0);
	assert_event("race", true, 0);
	finish_loop(loop);
	sem_destroy(&g.gate);
	named_event_cleanup();
}

/* Shutdown: the loop stops, a set cannot post, the owner removes the waiter. */
static void
test_a_waiter_on_a_stopped_loop_is_removed_without_running(void **state)
{
	struct loop	*loop = start_loop(0);
	struct wake_rec	 rec = { 0 };
	struct wait_call c = { .name = "late", .rec = &rec };
	size_t		 released = 0;

	run_on(loop, do_wait, &c);
	loop_stop(loop);
	loop_join(loop);
	assert_int_equal(named_event_set("late", &released), 0);
	assert_int_equal(released, 1);
	named_event_unwait(c.waiter);
	assert_int_equal(rec.runs, 0);
	loop_free(loop);
	named_event_cleanup();
}

static void
test_unused_events_are_freed(void **state)
{
	struct loop	*loop = start_loop(0);
	struct wake_rec	 rec = { 0 };
	struct wait_call c = { .name = "temp", .rec = &rec };
	char		 name[32];
	int		 i;

	for (i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "job-%d.done", i);
		assert_int_equal(named_event_set(name, NULL), 0);
	}
	assert_int_equal(named_event_count(), 5000);
	for (i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "job-%d.done", i);
		named_event_clear(name);
	}
	assert_int_equal(named_event_count(), 0);

	/* A wait creates the event; removing the only waiter frees it. */
	run_on(loop, do_wait, &c);
	assert_int_equal(named_event_count(), 1);
	run_on(loop, do_unwait, &c);
	assert_int_equal(named_event_count(), 0);

	/* A set event stays until cleared, even with no one waiting. */
	named_event_set("kept", NULL);
	assert_int_equal(named_event_count(), 1);
	named_event_clear("kept");
	assert_int_equal(named_event_count(), 0);
	finish_loop(loop);
	named_event_cleanup();
}

static void
test_setting_a_new_name_past_the_limit_is_refused(void **state)
{
	char	name[32];
	int	i;

	for (i = 0; i < NAMED_EVENTS_MAX; i++) {
		snprintf(name, sizeof(name), "e%d", i);
		assert_int_equal(named_event_set(name, NULL), 0);
	}
	assert_int_equal(named_event_set("one-too-many", NULL), -1);
	assert_event("one-too-many", false, 0);
	/* Names that exist can still be set; a cleared one makes room. */
	assert_int_equal(named_event_set("e0", NULL), 0);
	named_event_clear("e0");
	assert_int_equal(named_event_set("one-too-many", NULL), 0);
	named_event_cleanup();
	assert_int_equal(named_event_count(), 0);
}

static void
test_names_are_checked_with_their_path(void **state)
{
	static const char *const bad[] = {
		"{}", "{\"name\":5}", "{\"name\":\"\"}", "{\"name\":\"a b\"}",
		"{\"name\":\"caf\\u00e9\"}", "{\"name\":\"a\\u0000b\"}",
		"{\"name\":\"" "0123456789012345678901234567890123456789"
		"01234567890123456789012345\"}",
	};
	struct error	 e = { 0 };
	const char	*name = NULL;
	json_t		*msg;
	size_t		 i;

	for (i = 0; i < nitems(bad); i++) {
		msg = json_loads(bad[i], JSON_ALLOW_NUL, NULL);
		assert_non_null(msg);
		assert_int_equal(named_event_name(msg, "", "name", &name, &e), -1);
		assert_string_equal(e.code, "bad_request");
		assert_string_equal(e.path, "name");
		error_clear(&e);
		json_decref(msg);
	}
	msg = json_loads("{\"name\":\"Build_42.ok-1\"}", 0, NULL);
	assert_int_equal(named_event_name(msg, "", "name", &name, &e), 0);
	assert_string_equal(name, "Build_42.ok-1");
	json_decref(msg);

	/* In a job's args the path is the field's full path. */
	msg = json_loads("{\"name\":\"x y\"}", 0, NULL);
	assert_int_equal(named_event_name(msg, "jobs[1].args", "name",
	    &(const char *){ NULL }, &e), -1);
	assert_string_equal(e.path, "jobs[1].args.name");
	error_clear(&e);
	json_decref(msg);
	named_event_cleanup();
}

/*
 * Stress: setters on plain threads set, clear and get a few names while two
 * loops register waiters on them and remove some of those still waiting.
 * Every waiter must end exactly once: woken on its own loop, removed, or
 * found set at once; a woken one must not have been removed.  Run under
 * TSan, this is also the data race check.
 */
#define STRESS_NAMES	8
#define STRESS_SETTERS	3
#define STRESS_WAITERS	5000		/* per loop */
#define STRESS_CHUNK	10
#define STRESS_PACE	30		/* setter ops between chunks */

enum slot_state { SLOT_WAITING, SLOT_WOKEN, SLOT_REMOVED, SLOT_AT_ONCE };

struct stress_slot {
	struct stress_loop		*owner;
	struct waiter			*waiter;
	enum slot_state			 state;
};

struct stress_loop {
	struct loop		*loop;
	struct stress_slot	 slots[STRESS_WAITERS];
	int			 next;
	unsigned long		 ops_seen;
};

static struct {
	struct stress_loop	 loops[2];
	atomic_int		 settled;
	atomic_int		 errors;
	atomic_bool		 stop;
	atomic_ulong		 ops;		/* by the setters */
	sem_t			 drivers_done;
	sem_t			 all_settled;
} stress;

static const char *const stress_names[STRESS_NAMES] = {
	"s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7",
};

static void
stress_settle(struct stress_slot *s, enum slot_state how)
{
	if (s->state != SLOT_WAITING)
		atomic_fetch_add(&stress.errors, 1);
	s->state = how;
	if (atomic_fetch_add(&stress.settled, 1) + 1 == 2 * STRESS_WAITERS)
		sem_post(&stress.all_settled);
}

static void
stress_wake(void *arg)
{
	struct stress_slot	*s = arg;

	if (loop_current() != s->owner->loop)
		atomic_fetch_add(&stress.errors, 1);
	stress_settle(s, SLOT_WOKEN);
}

static void
stress_drive(void *arg)
{
	struct stress_loop	*sl = arg;
	struct stress_slot	*s, *old;
	int			 i, end = sl->next + STRESS_CHUNK;
	unsigned long		 ops = atomic_load(&stress.ops);

	/* Keep pace with the setters, so that sets fall between the waits. */
	if (ops - sl->ops_seen < STRESS_PACE) {
		sched_yield();
		end = sl->next;
	} else
		sl->ops_seen = ops;
	for (i = sl->next; i < end && i < STRESS_WAITERS; i++) {
		s = &sl->slots[i];
		s->owner = sl;
		s->waiter = named_event_wait(stress_names[i % STRESS_NAMES],
		    stress_wake, s);
		if (s->waiter == NULL)
			stress_settle(s, SLOT_AT_ONCE);
		/* Remove an earlier waiter now and then, if it still waits. */
		if (i >= 4 && i % 3 == 0) {
			old = &sl->slots[i - 4];
			if (old->state == SLOT_WAITING) {
				named_event_unwait(old->waiter);
				stress_settle(old, SLOT_REMOVED);
			}
		}
	}
	sl->next = i;
	if (sl->next < STRESS_WAITERS) {
		if (loop_post(sl->loop, stress_drive, sl) == -1)
			atomic_fetch_add(&stress.errors, 1);
	} else
		sem_post(&stress.drivers_done);
}

static void *
stress_setter(void *arg)
{
	unsigned int	 seed = (unsigned int)(uintptr_t)arg;
	const char	*name;
	size_t		 n;
	bool		 set;

	/* Until the loops have registered all their waiters. */
	while (!atomic_load(&stress.stop)) {
		name = stress_names[rand_r(&seed) % STRESS_NAMES];
		switch (rand_r(&seed) % 3) {
		case 0:
			named_event_set(name, NULL);
			break;
		case 1:
			named_event_clear(name);
			break;
		default:
			named_event_get(name, &set, &n);
			break;
		}
		atomic_fetch_add(&stress.ops, 1);
	}
	return NULL;
}

static void
test_concurrent_setters_and_waiters_across_threads(void **state)
{
	pthread_t	setters[STRESS_SETTERS];
	int		i, j, counts[4] = { 0 };

	memset(&stress, 0, sizeof(stress));
	sem_init(&stress.drivers_done, 0, 0);
	sem_init(&stress.all_settled, 0, 0);
	for (i = 0; i < 2; i++)
		stress.loops[i].loop = start_loop((unsigned int)i);
	for (i = 0; i < STRESS_SETTERS; i++)
		pthread_create(&setters[i], NULL, stress_setter, (void *)(uintptr_t)(i + 1));
	for (i = 0; i < 2; i++)
		assert_int_equal(loop_post(stress.loops[i].loop, stress_drive,
		    &stress.loops[i]), 0);
	for (i = 0; i < 2; i++)
		sem_wait_or_fail(&stress.drivers_done);
	atomic_store(&stress.stop, true);
	for (i = 0; i < STRESS_SETTERS; i++)
		pthread_join(setters[i], NULL);

	/* Whoever still waits is released by a last round of sets. */
	for (i = 0; i < STRESS_NAMES; i++)
		assert_int_equal(named_event_set(stress_names[i], NULL), 0);
	sem_wait_or_fail(&stress.all_settled);
	for (i = 0; i < 2; i++)
		run_on(stress.loops[i].loop, do_nothing, NULL);

	assert_int_equal(atomic_load(&stress.errors), 0);
	for (i = 0; i < 2; i++) {
		for (j = 0; j < STRESS_WAITERS; j++)
			counts[stress.loops[i].slots[j].state]++;
	}
	assert_int_equal(counts[SLOT_WAITING], 0);
	assert_int_equal(counts[SLOT_WOKEN] + counts[SLOT_REMOVED] +
	    counts[SLOT_AT_ONCE], 2 * STRESS_WAITERS);
	for (i = 0; i < STRESS_NAMES; i++) {
		assert_event(stress_names[i], true, 0);
		named_event_clear(stress_names[i]);
	}
	assert_int_equal(named_event_count(), 0);
	for (i = 0; i < 2; i++)
		finish_loop(stress.loops[i].loop);
	sem_destroy(&stress.drivers_done);
	sem_destroy(&stress.all_settled);
	named_event_cleanup();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_before_wait_returns_at_once),
		cmocka_unit_test(test_get_of_an_unknown_name_creates_nothing),
		cmocka_unit_test(test_set_releases_waiters_on_two_loops),
		cmocka_unit_test(test_waiters_on_one_loop_run_in_the_order_they_waited),
		cmocka_unit_test(test_clear_makes_waiters_wait_again),
		cmocka_unit_test(test_a_removed_waiter_never_runs),
		cmocka_unit_test(test_a_wakeup_racing_a_removal_is_harmless),
		cmocka_unit_test(test_a_waiter_on_a_stopped_loop_is_removed_without_running),
		cmocka_unit_test(test_unused_events_are_freed),
		cmocka_unit_test(test_setting_a_new_name_past_the_limit_is_refused),
		cmocka_unit_test(test_names_are_checked_with_their_path),
		cmocka_unit_test(test_concurrent_setters_and_waiters_across_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
