#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/config.h"
#include "core/loomd.h"
#include "runtime/log.h"
#include "runtime/util.h"
#include "service/daemon.h"

#include "fuzz.h"

/* The daemon's shared state, defined as service/main.c defines it. */
struct loomd	loomd;

struct config *
fuzz_config(const char *const *assignments)
{
	struct config	*cfg = config_new();
	char		 err[1024];
	size_t		 i;

	for (i = 0; assignments[i] != NULL; i++) {
		if (config_override(cfg, assignments[i], err, sizeof(err)) == -1) {
			fprintf(stderr, "fuzz: %s\n", err);
			exit(2);
		}
	}
	if (config_check(cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "fuzz: %s\n", err);
		exit(2);
	}
	return cfg;
}

void
fuzz_daemon_start(struct config *cfg)
{
	char	err[1024];

	log_init("loomd-fuzz", LOG_ERR, LOG_TO_STDERR);
	/* In memory: no journal, no state_dir of its own to write. */
	cfg->journal = false;
	loomd.config = cfg;
	loomd.started_at = now_epoch();
	if (daemon_start(cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "fuzz: %s\n", err);
		exit(2);
	}
}
