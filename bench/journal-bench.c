/*
 * journal-bench: what the journal's files cost on this disk.  Records of
 * 100 bytes are appended in batches of 1, 16 and 256, each batch followed
 * by one fdatasync (journal_sync=always, with the records of a batch sharing
 * their sync); and once more in batches of 256 without syncs, for what the
 * CPU alone allows.
 *
 *   journal-bench [-d DIR] [-t SECONDS] [-s RECORD_BYTES]
 *
 * DIR (default: a new directory under $TMPDIR, else /tmp) decides the disk
 * measured; what the runs write there is removed after.  Each run prints one
 * machine-readable line (key=value) and a summary.
 */
#include "autoconf.h"

#include <sys/uio.h>

#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/journal_file.h"
#include "runtime/log.h"
#include "runtime/util.h"

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* As loomd opens it: with zeros ahead of the records when each batch is
 * synced (journal_sync=always). */
static struct journal_file *
bench_open(const char *dir, bool sync)
{
	struct journal_file_options	 o = { .zero_ahead = sync };
	struct journal_file		*jf;
	char				 err[512];

	jf = journal_file_open(dir, &o, err, sizeof(err));
	if (jf == NULL ||
	    journal_file_replay(jf, NULL, NULL, false, NULL, err, sizeof(err)) != 0)
		fatalx("%s", err);
	return jf;
}

/* Batches of `batch` records for `seconds`, each synced if `sync`. */
static void
bench_run(const char *top, size_t batch, bool sync, double seconds,
    size_t size)
{
	struct journal_file	*jf;
	struct iovec		*iov = xcalloc(batch, sizeof(*iov));
	char			*payload = xmalloc(size), dir[PATH_MAX];
	uint64_t		*lat = NULL, t0, t, end, records = 0;
	size_t			 n = 0, cap = 0, i;
	double			 elapsed;

	memset(payload, 'r', size);
	for (i = 0; i < batch; i++)
		iov[i] = (struct iovec){ payload, size };
	snprintf(dir, sizeof(dir), "%s/journal-%zu%s", top, batch,
	    sync ? "" : "-nosync");
	jf = bench_open(dir, sync);
	t0 = now_ns();
	end = t0 + (uint64_t)(seconds * 1e9);
	for (t = t0; t < end; ) {
		if (journal_file_append(jf, iov, batch) != JOURNAL_OK)
			fatalx("append: %s", journal_file_error(jf));
		records += batch;
		if (sync) {
			t = now_ns();
			if (journal_file_sync(jf) != JOURNAL_OK)
				fatalx("sync: %s", journal_file_error(jf));
			if (n == cap) {
				cap = cap ? cap * 2 : 4096;
				lat = xreallocarray(lat, cap, sizeof(*lat));
			}
			lat[n++] = now_ns() - t;
		}
		t = now_ns();
	}
	elapsed = (double)(t - t0) / 1e9;
	journal_file_close(jf);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);

	if (n > 0)
		qsort(lat, n, sizeof(*lat), cmp_u64);
	printf("journal-bench batch=%zu sync=%s record_bytes=%zu records=%" PRIu64
	    " seconds=%.2f records_per_s=%.0f syncs=%zu sync_p50_us=%.1f "
	    "sync_p99_us=%.1f\n", batch, sync ? "fdatasync" : "off", size,
	    records, elapsed, (double)records / elapsed, n,
	    n ? (double)lat[(n - 1) / 2] / 1e3 : 0.0,
	    n ? (double)lat[(size_t)((double)(n - 1) * 0.99)] / 1e3 : 0.0);
	printf("  batches of %zu%s: %.0f records/s", batch,
	    sync ? ", each synced" : ", no sync", (double)records / elapsed);
	if (n > 0)
		printf(", fdatasync p50 %.0f us, p99 %.0f us", lat[(n - 1) / 2] / 1e3,
		    lat[(size_t)((double)(n - 1) * 0.99)] / 1e3);
	printf("\n");
	free(lat);
	free(payload);
	free(iov);
}

static void
usage(void)
{
	fprintf(stderr, "usage: journal-bench [-d DIR] [-t SECONDS] "
	    "[-s RECORD_BYTES]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const size_t	 batches[] = { 1, 16, 256 };
	const char		*tmp = getenv("TMPDIR"), *dir = NULL;
	char			 top[PATH_MAX];
	double			 seconds = 2;
	size_t			 size = 100, i;
	int			 c;

	while ((c = getopt(argc, argv, "d:s:t:")) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 's':
			size = strtoul(optarg, NULL, 10);
			break;
		case 't':
			seconds = strtod(optarg, NULL);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || size == 0 || size > JOURNAL_RECORD_MAX ||
	    !(seconds > 0))
		usage();
	log_init("journal-bench", LOG_WARNING, LOG_TO_STDERR);
	snprintf(top, sizeof(top), "%s/journal-bench-XXXXXX", dir != NULL ? dir :
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(top) == NULL)
		fatal("%s", top);
	for (i = 0; i < nitems(batches); i++)
		bench_run(top, batches[i], true, seconds, size);
	bench_run(top, 256, false, seconds, size);
	rmdir(top);
	return 0;
}
