/*
 * Principals, interned (core/principal.h), and the names of roles.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/principal.h"
#include "runtime/util.h"

struct principal_entry {
	struct principal	 p;
	struct principal_entry	*next;
	char			 name[];
};

static pthread_mutex_t		 principal_lock = PTHREAD_MUTEX_INITIALIZER;
static struct principal_entry	*principal_list;

struct principal *
principal_get(const char *name)
{
	struct principal_entry	*e;
	size_t			 len = strlen(name);

	pthread_mutex_lock(&principal_lock);
	for (e = principal_list; e != NULL; e = e->next) {
		if (strcmp(e->name, name) == 0)
			break;
	}
	if (e == NULL) {
		e = xcalloc(1, sizeof(*e) + len + 1);
		memcpy(e->name, name, len + 1);
		e->p.name = e->name;
		atomic_init(&e->p.jobs, 0);
		e->next = principal_list;
		principal_list = e;
	}
	pthread_mutex_unlock(&principal_lock);
	return &e->p;
}

size_t
principal_jobs(const struct principal *p)
{
	return atomic_load_explicit(&p->jobs, memory_order_relaxed);
}

bool
principal_reserved(const char *name)
{
	return strcmp(name, PRINCIPAL_UNIX) == 0 ||
	    strcmp(name, PRINCIPAL_ANONYMOUS) == 0;
}

void
principal_free_all(void)
{
	struct principal_entry	*e, *next;

	pthread_mutex_lock(&principal_lock);
	for (e = principal_list; e != NULL; e = next) {
		next = e->next;
		free(e);
	}
	principal_list = NULL;
	pthread_mutex_unlock(&principal_lock);
}

static const char *const role_names[] = {
	"read", "submit", "work", "control", "admin",
};

unsigned int
role_parse(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < nitems(role_names); i++) {
		if (strlen(role_names[i]) == len && strncmp(role_names[i], s, len) == 0)
			return 1u << i;
	}
	return 0;
}

const char *
role_name(unsigned int bit)
{
	size_t	i;

	for (i = 0; i < nitems(role_names); i++) {
		if (bit == 1u << i)
			return role_names[i];
	}
	return "?";
}

const char *
roles_text(unsigned int roles, char *buf, size_t len)
{
	size_t	i, used;

	snprintf(buf, len, "%s", roles == 0 ? "none" : "");
	for (i = 0; i < nitems(role_names); i++) {
		if (!(roles & (1u << i)))
			continue;
		used = strlen(buf);
		snprintf(buf + used, len - used, "%s%s", used > 0 ? ", " : "",
		    role_names[i]);
	}
	return buf;
}
