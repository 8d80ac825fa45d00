/*
 * libFuzzer target: the configuration reader, as start-up and reload use it
 * (config_build: built-in defaults, the file, each -o KEY=VALUE, the
 * cross-key checks), then the reload diff against the defaults.
 *
 * An input is the file's text up to its first NUL byte; each NUL-ended
 * piece after that is one -o assignment.  The file is a memfd, read through
 * its /proc/self/fd path as any file is.
 *
 * Checked besides the sanitizers: a refused configuration says why, in a
 * message that fits its buffer; an accepted one remembers its file, and
 * every difference from the defaults has a key and a value on one side at
 * least.
 */
#include "autoconf.h"

#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"

#define FUZZ_MAX_ASSIGNMENTS	16

static int		 file_fd = -1;
static char		 file_path[64];
static struct config	*defaults;

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
diff_check(const char *key, const char *was, const char *now, void *arg)
{
	if (key == NULL || *key == '\0' || (was == NULL && now == NULL))
		abort();
	(*(size_t *)arg) += strlen(key);
}

static void
fuzz_init(void)
{
	char	err[256];

	if ((file_fd = memfd_create("loomd.conf", MFD_CLOEXEC)) == -1) {
		perror("memfd_create");
		exit(2);
	}
	snprintf(file_path, sizeof(file_path), "/proc/self/fd/%d", file_fd);
	if ((defaults = config_build("/dev/null", NULL, 0, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz: the defaults are refused: %s\n", err);
		exit(2);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*text = (const char *)data, *nul, *end = text + size;
	char		*assignments[FUZZ_MAX_ASSIGNMENTS], err[1024];
	struct config	*cfg;
	size_t		 n = 0, filelen, total = 0, i;

	if (file_fd == -1)
		fuzz_init();
	nul = memchr(text, '\0', size);
	filelen = nul != NULL ? (size_t)(nul - text) : size;
	if (ftruncate(file_fd, 0) == -1 ||
	    pwrite(file_fd, text, filelen, 0) != (ssize_t)filelen)
		abort();
	for (text = nul; text != NULL && text + 1 < end && n < FUZZ_MAX_ASSIGNMENTS;
	    text = nul) {
		text++;
		nul = memchr(text, '\0', (size_t)(end - text));
		assignments[n++] = strndup(text, nul != NULL ? (size_t)(nul - text) :
		    (size_t)(end - text));
	}

	memset(err, 0x55, sizeof(err));
	err[sizeof(err) - 1] = '\0';
	if ((cfg = config_build(file_path, assignments, n, err, sizeof(err))) == NULL) {
		/* A refusal says why. */
		if (err[0] == '\0' || err[0] == 0x55 ||
		    memchr(err, '\0', sizeof(err)) == NULL)
			abort();
	} else {
		if (cfg->path == NULL || strcmp(cfg->path, file_path) != 0)
			abort();
		config_diff(defaults, cfg, diff_check, &total);
		config_diff(cfg, defaults, diff_check, &total);
		config_free(cfg);
	}
	for (i = 0; i < n; i++)
		free(assignments[i]);
	return 0;
}
