/*
 * runtime-bench: what the runtime's primitives cost on this machine.
 *
 *   post_batched     producers post N calls each without waiting: ns per post
 *   post_roundtrip   each producer posts one call and waits for it to run
 *   eventfd_floor    the kernel's share: bare threads waking each other
 *   future_wakeup    a future completed on loop A, its callback on loop B:
 *                    complete → callback latency (p50, p99); again with
 *                    loop_spin_us = 20 (future_wakeup_spin)
 *   executor_rtt     submit a trivial item from a loop, callback on that loop
 *   executor_tput    items/s with 256 in flight
 *
 * Each scenario prints one machine-readable line (key=value) and a summary.
 */
#include "autoconf.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/executor.h"
#include "runtime/future.h"
#include "runtime/histogram.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/util.h"

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static uint64_t
percentile(uint64_t *v, size_t n, double p)
{
	size_t	i = (size_t)(p * (double)(n - 1));

	return v[i];
}

static void
report_latency(const char *scenario, const char *what, uint64_t *lat,
    unsigned long n)
{
	qsort(lat, n, sizeof(*lat), cmp_u64);
	printf("runtime-bench scenario=%s samples=%lu p50_ns=%llu p99_ns=%llu\n",
	    scenario, n, (unsigned long long)percentile(lat, n, 0.5),
	    (unsigned long long)percentile(lat, n, 0.99));
	printf("  %s: p50 %.1f us, p99 %.1f us\n", what,
	    percentile(lat, n, 0.5) / 1e3, percentile(lat, n, 0.99) / 1e3);
}

/* post_batched ---------------------------------------------------------- */

static atomic_ulong	 batched_ran;
static unsigned long	 batched_total;
static sem_t		 batched_done;

static void
batched_fn(void *arg)
{
	if (atomic_fetch_add_explicit(&batched_ran, 1, memory_order_relaxed) + 1 ==
	    batched_total)
		sem_post(&batched_done);
}

struct producer {
	struct loop	*loop;
	unsigned long	 n;
	sem_t		 reply;
	uint64_t	 elapsed;
};

static void *
batched_producer(void *arg)
{
	struct producer	*p = arg;
	unsigned long	 i;

	for (i = 0; i < p->n; i++)
		loop_post(p->loop, batched_fn, NULL);
	return NULL;
}

static void
bench_post_batched(unsigned int producers, unsigned long per)
{
	struct loop	*loop = loop_new(0);
	struct producer	 p[8];
	pthread_t	 t[8];
	uint64_t	 start, took;
	unsigned int	 i;

	loop_start(loop);
	atomic_store(&batched_ran, 0);
	batched_total = per * producers;
	sem_init(&batched_done, 0, 0);
	start = now_ns();
	for (i = 0; i < producers; i++) {
		p[i].loop = loop;
		p[i].n = per;
		pthread_create(&t[i], NULL, batched_producer, &p[i]);
	}
	for (i = 0; i < producers; i++)
		pthread_join(t[i], NULL);
	sem_wait(&batched_done);
	took = now_ns() - start;
	printf("runtime-bench scenario=post_batched producers=%u posts=%lu "
	    "ns_per_post=%.1f\n", producers, batched_total,
	    (double)took / batched_total);
	printf("  %u producer(s) x %lu posts, not waiting: %.1f ns per post "
	    "(%.1f M posts/s)\n", producers, per, (double)took / batched_total,
	    batched_total / (took / 1e9) / 1e6);
	loop_stop(loop);
	loop_join(loop);
	loop_free(loop);
	sem_destroy(&batched_done);
}

/* post_roundtrip -------------------------------------------------------- */

static void
roundtrip_fn(void *arg)
{
	sem_post(&((struct producer *)arg)->reply);
}

static void *
roundtrip_producer(void *arg)
{
	struct producer	*p = arg;
	uint64_t	 start = now_ns();
	unsigned long	 i;

	for (i = 0; i < p->n; i++) {
		loop_post(p->loop, roundtrip_fn, p);
		sem_wait(&p->reply);
	}
	p->elapsed = now_ns() - start;
	return NULL;
}

static void
bench_post_roundtrip(unsigned int producers, unsigned long per)
{
	struct loop	*loop = loop_new(0);
	struct producer	 p[8];
	pthread_t	 t[8];
	double		 sum = 0;
	unsigned int	 i;

	loop_start(loop);
	for (i = 0; i < producers; i++) {
		p[i].loop = loop;
		p[i].n = per;
		sem_init(&p[i].reply, 0, 0);
		pthread_create(&t[i], NULL, roundtrip_producer, &p[i]);
	}
	for (i = 0; i < producers; i++) {
		pthread_join(t[i], NULL);
		sum += (double)p[i].elapsed / per;
		sem_destroy(&p[i].reply);
	}
	printf("runtime-bench scenario=post_roundtrip producers=%u posts=%lu "
	    "ns_per_roundtrip=%.0f\n", producers, per * producers, sum / producers);
	printf("  %u producer(s), each waiting for its call to run: %.1f us per "
	    "round trip\n", producers, sum / producers / 1e3);
	loop_stop(loop);
	loop_join(loop);
	loop_free(loop);
}

/* eventfd_floor ---------------------------------------------------------
 * The kernel's part alone: two bare threads wake each other through eventfds
 * and epoll, as the loops do.  What the runtime adds is the difference.
 */

struct floor_peer {
	int		 in, out;
	unsigned long	 n;
	uint64_t	*lat;
	_Atomic uint64_t t0;
};

static void
floor_wait(int ep, int fd)
{
	struct epoll_event	ev;
	uint64_t		v;

	while (epoll_wait(ep, &ev, 1, -1) != 1)
		;
	(void)!read(fd, &v, sizeof(v));
}

static int
floor_epoll(int fd)
{
	struct epoll_event	ev = { .events = EPOLLIN };
	int			ep = epoll_create1(EPOLL_CLOEXEC);

	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	return ep;
}

static void *
floor_thread(void *arg)
{
	struct floor_peer	*p = arg;
	int			 ep = floor_epoll(p->in);
	uint64_t		 one = 1;
	unsigned long		 i;

	for (i = 0; i < p->n; i++) {
		floor_wait(ep, p->in);
		p->lat[i] = now_ns() - atomic_load(&p->t0);
		(void)!write(p->out, &one, sizeof(one));
	}
	close(ep);
	return NULL;
}

static void
bench_eventfd_floor(unsigned long n)
{
	struct floor_peer	p = { 0 };
	pthread_t		t;
	uint64_t		one = 1;
	unsigned long		i;
	int			ep;

	p.in = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	p.out = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	p.n = n;
	p.lat = xcalloc(n, sizeof(*p.lat));
	ep = floor_epoll(p.out);
	pthread_create(&t, NULL, floor_thread, &p);
	for (i = 0; i < n; i++) {
		atomic_store(&p.t0, now_ns());
		(void)!write(p.in, &one, sizeof(one));
		floor_wait(ep, p.out);
	}
	pthread_join(t, NULL);
	report_latency("eventfd_floor", "bare threads, eventfd + epoll, one way",
	    p.lat, n);
	close(ep);
	close(p.in);
	close(p.out);
	free(p.lat);
}

/* future_wakeup ---------------------------------------------------------
 * A relay between two loops, one step per post, so that loop B is idle when
 * loop A completes the future: start (A) → register the callback (B) →
 * complete (A) → callback (B), which measures complete → callback.
 */

struct wakeup {
	struct loop	*a, *b;
	struct future	*f;
	uint64_t	*lat;
	unsigned long	 n, i;
	uint64_t	 t0;
	sem_t		 done;
};

static void	wakeup_register(void *);
static void	wakeup_complete(void *);
static void	wakeup_cb(struct future *, void *);

static void
wakeup_start(void *arg)
{
	struct wakeup	*w = arg;

	w->f = future_new(w->a);
	loop_post(w->b, wakeup_register, w);
}

static void
wakeup_register(void *arg)
{
	struct wakeup	*w = arg;

	future_on_done(w->f, w->b, wakeup_cb, w);
	loop_post(w->a, wakeup_complete, w);
}

static void
wakeup_complete(void *arg)
{
	struct wakeup	*w = arg;

	w->t0 = now_ns();
	future_set_result(w->f, NULL);
}

static void
wakeup_cb(struct future *f, void *arg)
{
	struct wakeup	*w = arg;

	w->lat[w->i++] = now_ns() - w->t0;
	future_unref(w->f);
	if (w->i == w->n)
		sem_post(&w->done);
	else
		loop_post(w->a, wakeup_start, w);
}

static void
bench_future_wakeup(unsigned long n, unsigned int spin_us)
{
	struct wakeup	w = { 0 };
	char		what[128];

	loop_set_spin_us(spin_us);
	w.a = loop_new(0);
	w.b = loop_new(1);
	loop_start(w.a);
	loop_start(w.b);
	w.n = n;
	w.lat = xcalloc(n, sizeof(*w.lat));
	sem_init(&w.done, 0, 0);
	loop_post(w.a, wakeup_start, &w);
	sem_wait(&w.done);
	snprintf(what, sizeof(what), "future completed on loop A, callback on "
	    "loop B, loop_spin_us=%u", spin_us);
	report_latency(spin_us ? "future_wakeup_spin" : "future_wakeup", what,
	    w.lat, n);
	loop_stop(w.a);
	loop_stop(w.b);
	loop_join(w.a);
	loop_join(w.b);
	loop_free(w.a);
	loop_free(w.b);
	free(w.lat);
	sem_destroy(&w.done);
	loop_set_spin_us(0);
}

/* executor -------------------------------------------------------------- */

static json_t *
trivial_work(void *arg, struct error *error)
{
	return json_true();
}

struct exbench {
	struct executor	*ex;
	struct loop	*loop;
	uint64_t	*lat;
	unsigned long	 n, submitted, finished;
	uint64_t	 t0;
	sem_t		 done;
};

static void	exrtt_submit(void *);

static void
exrtt_cb(struct future *f, void *arg)
{
	struct exbench	*b = arg;

	b->lat[b->finished++] = now_ns() - b->t0;
	if (b->finished == b->n)
		sem_post(&b->done);
	else
		exrtt_submit(b);
}

static void
exrtt_submit(void *arg)
{
	struct exbench	*b = arg;
	struct future	*f;

	b->t0 = now_ns();
	f = executor_submit(b->ex, trivial_work, NULL);
	future_on_done(f, b->loop, exrtt_cb, b);
	future_unref(f);
}

static void	extput_submit_one(struct exbench *);

static void
extput_cb(struct future *f, void *arg)
{
	struct exbench	*b = arg;

	if (future_state(f) != FUTURE_DONE)
		fatalx("executor item failed: %s", future_error(f)->message);
	if (++b->finished == b->n)
		sem_post(&b->done);
	else if (b->submitted < b->n)
		extput_submit_one(b);
}

static void
extput_submit_one(struct exbench *b)
{
	struct future	*f = executor_submit(b->ex, trivial_work, NULL);

	b->submitted++;
	future_on_done(f, b->loop, extput_cb, b);
	future_unref(f);
}

static void
extput_start(void *arg)
{
	struct exbench	*b = arg;
	int		 i;

	for (i = 0; i < 256 && b->submitted < b->n; i++)
		extput_submit_one(b);
}

static void
bench_executor(unsigned int threads, unsigned long n)
{
	struct exbench	b = { 0 };
	uint64_t	start, took;

	b.ex = executor_new(threads, 1024);
	b.loop = loop_new(0);
	loop_start(b.loop);
	b.n = n;
	b.lat = xcalloc(n, sizeof(*b.lat));
	sem_init(&b.done, 0, 0);
	loop_post(b.loop, exrtt_submit, &b);
	sem_wait(&b.done);
	report_latency("executor_rtt", "executor round trip, one at a time",
	    b.lat, n);

	b.submitted = b.finished = 0;
	start = now_ns();
	loop_post(b.loop, extput_start, &b);
	sem_wait(&b.done);
	took = now_ns() - start;
	printf("runtime-bench scenario=executor_tput threads=%u items=%lu "
	    "items_per_s=%.0f\n", threads, n, n / (took / 1e9));
	printf("  executor throughput, %u threads, 256 in flight: %.0f items/s\n",
	    threads, n / (took / 1e9));

	loop_stop(b.loop);
	loop_join(b.loop);
	loop_free(b.loop);
	executor_free(b.ex);
	free(b.lat);
	sem_destroy(&b.done);
}

/* histo_observe --------------------------------------------------------- */

/* What a job's two observations cost (its wait and its run): one thread,
 * values spread over the buckets a fast job lands in. */
static void
bench_histo(unsigned long n)
{
	static struct histo	 h;
	struct histo_sum	 sum = { 0 };
	uint64_t		 t0, t;
	unsigned long		 i;

	t0 = now_ns();
	for (i = 0; i < n; i++)
		histo_observe(&h, (int64_t)((i * 7919) % 2000000));
	t = now_ns() - t0;
	histo_add_to(&h, &sum);
	printf("runtime-bench scenario=histo_observe n=%lu ns_per_observe=%.2f\n",
	    n, (double)t / n);
	printf("  histo_observe: %.2f ns each (%llu counted)\n", (double)t / n,
	    (unsigned long long)histo_count(&sum));
}

int
main(int argc, char **argv)
{
	unsigned long	scale = 1;

	if (argc > 1 && (scale = strtoul(argv[1], NULL, 10)) == 0)
		scale = 1;
	log_init("runtime-bench", LOG_WARNING, LOG_TO_STDERR);
	setvbuf(stdout, NULL, _IOLBF, 0);

	bench_post_batched(1, 2000000 * scale);
	bench_post_batched(4, 500000 * scale);
	bench_post_roundtrip(1, 50000 * scale);
	bench_post_roundtrip(4, 20000 * scale);
	bench_eventfd_floor(20000 * scale);
	bench_future_wakeup(20000 * scale, 0);
	bench_future_wakeup(20000 * scale, 20);
	bench_executor(2, 100000 * scale);
	bench_histo(20000000 * scale);
	return 0;
}
