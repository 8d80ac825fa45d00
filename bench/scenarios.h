/* loom-bench's scenarios; loom-bench.c says what each measures. */
#ifndef LOOM_BENCH_SCENARIOS_H
#define LOOM_BENCH_SCENARIOS_H

/* pipeline.c */
void	bench_throughput(int conns, int inflight, double seconds);
void	bench_beanstalkd(int conns, int inflight, double seconds);
void	bench_latency(long n, double rate, double seconds);
void	bench_submit(const char *scenario, const char *what, const char *request,
	    int conns, int inflight, double seconds);

/* io.c */
void	bench_exec(int conns, int inflight, double seconds);
void	bench_http(int conns, int inflight, double seconds);

/* jobs.c */
void	bench_sleepers(long njobs, double seconds);
void	bench_cpu(long njobs, double job_ms);
void	bench_fanout(long children);
void	bench_limit(long njobs);
void	bench_replay(long njobs);

/* worker.c */
void	bench_worker(int conns, int inflight, int workers, int concurrency,
	    double seconds);

/* abuse.c: all floods, or the one named */
void	bench_abuse(const char *only);

/* connections.c */
void	bench_connections(long conns, long pings);
void	bench_tls_compare(int conns, int inflight, double seconds, long idle);

#endif
