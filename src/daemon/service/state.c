/*
 * state_dir/state: "loomd-state 1", then "boot N" and "ids C" (the id
 * ceiling), one per line.  Written to a temporary file, fsynced, renamed
 * over the old one and the directory fsynced: a crash leaves the old file or
 * the new, never a torn one.  The format's version lets a future loomd read
 * an older file and an older loomd refuse a newer one.
 */
#include "autoconf.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/log.h"
#include "runtime/util.h"
#include "service/state.h"

#define STATE_VERSION	1
#define STATE_IDS_BLOCK	(UINT64_C(1) << 20)	/* ids reserved at a time */

static char		*state_dir;
static int		 state_lock = -1;	/* flock'ed while we run */
static uint64_t		 state_boots;
static uint64_t		 state_ceiling;	/* ids below it may be handed out */
static uint64_t		 state_first;	/* this boot's first id */
static uint64_t		 state_block = STATE_IDS_BLOCK;

static int
state_fail(char *err, size_t errlen, const char *what, const char *path)
{
	snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
	return -1;
}

/* mkdir -p, 0700 for what it makes; *made if it made the last one. */
static int
state_mkdirs(const char *dir, bool *made, char *err, size_t errlen)
{
	char	*path = xstrdup(dir), *p = path;
	int	 rc = 0;

	do {
		p += strspn(p, "/");
		p += strcspn(p, "/");
		if (*p == '/') {
			*p = '\0';
			if (mkdir(path, 0700) == -1 && errno != EEXIST)
				rc = state_fail(err, errlen, "cannot make", path);
			*p = '/';
		}
	} while (rc == 0 && *p != '\0');
	*made = false;
	if (rc == 0 && mkdir(path, 0700) == 0)
		*made = true;
	else if (rc == 0 && errno != EEXIST)
		rc = state_fail(err, errlen, "cannot make state_dir", path);
	free(path);
	return rc;
}

int
state_prepare(const char *dir, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	bool	made;

	if (state_mkdirs(dir, &made, err, errlen) == -1)
		return -1;
	/* Only one it made: chowning an existing directory could be anything. */
	if (made && chown(dir, uid, gid) == -1)
		return state_fail(err, errlen, "cannot chown", dir);
	return 0;
}

/* Read the file; a missing one is a fresh state_dir. */
static int
state_read(const char *path, char *err, size_t errlen)
{
	FILE		*f;
	char		 line[128];
	unsigned int	 version = 0;
	uint64_t	 v;

	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		return state_fail(err, errlen, "cannot read", path);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "loomd-state %u", &version) == 1)
			continue;
		if (sscanf(line, "boot %" SCNu64, &v) == 1)
			state_boots = v;
		else if (sscanf(line, "ids %" SCNu64, &v) == 1)
			state_ceiling = v;
	}
	fclose(f);
	if (version == 0) {
		snprintf(err, errlen, "%s: not a loomd state file", path);
		return -1;
	}
	if (version > STATE_VERSION) {
		snprintf(err, errlen, "%s: format %u is newer than this loomd "
		    "understands (%d); upgrade loomd", path, version, STATE_VERSION);
		return -1;
	}
	return 0;
}

static int
state_write(char *err, size_t errlen)
{
	char	 path[4096], tmp[4096], text[128];
	int	 fd, dfd, len;

	snprintf(path, sizeof(path), "%s/state", state_dir);
	snprintf(tmp, sizeof(tmp), "%s/state.tmp", state_dir);
	len = snprintf(text, sizeof(text), "loomd-state %d\nboot %" PRIu64
	    "\nids %" PRIu64 "\n", STATE_VERSION, state_boots, state_ceiling);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1)
		return state_fail(err, errlen, "cannot write", tmp);
	if (write(fd, text, (size_t)len) != len || fdatasync(fd) == -1) {
		state_fail(err, errlen, "cannot write", tmp);
		close(fd);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) == -1)
		return state_fail(err, errlen, "cannot rename", tmp);
	if ((dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(dfd) == -1) {
		state_fail(err, errlen, "cannot sync", state_dir);
		if (dfd != -1)
			close(dfd);
		return -1;
	}
	close(dfd);
	return 0;
}

int
state_open(const char *dir, char *err, size_t errlen)
{
	static atomic_uint_fast64_t	block;
	char				path[4096];
	bool				made;

	if (state_mkdirs(dir, &made, err, errlen) == -1)
		return -1;
	/* One loomd per state_dir: two would hand out the same ids. */
	snprintf(path, sizeof(path), "%s/lock", dir);
	if ((state_lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		return state_fail(err, errlen, "cannot open", path);
	if (flock(state_lock, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			snprintf(err, errlen, "another loomd uses state_dir %s", dir);
		else
			state_fail(err, errlen, "cannot lock", path);
		close(state_lock);
		state_lock = -1;
		return -1;
	}
	state_dir = xstrdup(dir);
	snprintf(path, sizeof(path), "%s/state", dir);
	if (state_read(path, err, errlen) == -1)
		return -1;
	/* The tests' way to cross blocks without a million jobs. */
	state_block = test_tunable(&block, "LOOMD_TEST_IDS_BLOCK",
	    STATE_IDS_BLOCK);
	if (state_block < 2)
		state_block = STATE_IDS_BLOCK;
	/* Any id below the last ceiling may have been given out already. */
	state_boots++;
	state_first = state_ceiling > 0 ? state_ceiling : 1;
	state_ceiling = state_first + state_block;
	return state_write(err, errlen);
}

uint64_t
state_boot(void)
{
	return state_boots;
}

uint64_t
state_first_id(void)
{
	return state_first;
}

uint64_t
state_ceiling_now(void)
{
	return state_ceiling;
}

uint64_t
state_ids_block(void)
{
	return state_block;
}

uint64_t
state_reserve_ids(uint64_t at_least)
{
	char	err[512];

	if (at_least > state_ceiling)
		state_ceiling = at_least;
	if (state_write(err, sizeof(err)) == -1)
		fatalx("ids: %s (no id may be given out twice; stopping)", err);
	return state_ceiling;
}

void
state_close(void)
{
	free(state_dir);
	state_dir = NULL;
	if (state_lock != -1)
		close(state_lock);
	state_lock = -1;
}
