#include "autoconf.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/dns.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/config.h"
#include "runtime/future.h"
#include "runtime/log.h"
#include "core/loomd.h"
#include "runtime/loop.h"
#include "io/outbound.h"
#include "runtime/util.h"

/* TLS ----------------------------------------------------------------- */

/*
 * The current generation.  A context is never changed once built: a reload
 * builds another and swaps it in under the lock; each request took its own
 * reference, so the old one goes when its last request does.
 */
static pthread_mutex_t	 outbound_tls_lock = PTHREAD_MUTEX_INITIALIZER;
static bool		 outbound_tls_built;
static bool		 outbound_tls_atexit;
static SSL_CTX		*outbound_tls_ctx;
static char		*outbound_tls_error;	/* why there is no context */

/* A context, or NULL and why in *error (allocated). */
static SSL_CTX *
outbound_tls_build(const char *ca_file, char **error)
{
	SSL_CTX		*ctx;
	char		 why[256];

	*error = NULL;
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		ERR_error_string_n(ERR_get_error(), why, sizeof(why));
		xasprintf(error, "cannot set up TLS: %s", why);
		goto out;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* Servers that close without close_notify are common, and libevent
	 * 2.1 misreads OpenSSL 3's report of them. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_set_default_verify_paths(ctx) != 1)
		log_warnx("outbound TLS: cannot load the system's CA certificates");
	if (ca_file != NULL && *ca_file != '\0' &&
	    SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
		ERR_error_string_n(ERR_get_error(), why, sizeof(why));
		xasprintf(error, "cannot load [http] ca_file %s: %s", ca_file, why);
		log_warnx("outbound TLS: %s", *error);
		SSL_CTX_free(ctx);
		ctx = NULL;
	}
out:
	ERR_clear_error();
	return ctx;
}

static void
outbound_tls_free(void)
{
	pthread_mutex_lock(&outbound_tls_lock);
	SSL_CTX_free(outbound_tls_ctx);
	outbound_tls_ctx = NULL;
	free(outbound_tls_error);
	outbound_tls_error = NULL;
	outbound_tls_built = false;
	pthread_mutex_unlock(&outbound_tls_lock);
}

/* Under the lock: make *ctx (or *error) current; they get the old ones. */
static void
outbound_tls_swap(SSL_CTX **ctx, char **error)
{
	SSL_CTX	*old_ctx = outbound_tls_ctx;
	char	*old_error = outbound_tls_error;

	outbound_tls_ctx = *ctx;
	outbound_tls_error = *error;
	outbound_tls_built = true;
	*ctx = old_ctx;
	*error = old_error;
	if (!outbound_tls_atexit) {
		atexit(outbound_tls_free);
		outbound_tls_atexit = true;
	}
}

SSL_CTX *
outbound_tls(char *why, size_t len)
{
	const struct config	*cfg;
	SSL_CTX			*ctx = NULL;
	char			*error = NULL;

	pthread_mutex_lock(&outbound_tls_lock);
	if (!outbound_tls_built) {
		cfg = loomd.config;
		ctx = outbound_tls_build(cfg != NULL ? cfg->http.ca_file : NULL,
		    &error);
		outbound_tls_swap(&ctx, &error);	/* nothing was there */
	}
	if ((ctx = outbound_tls_ctx) != NULL)
		SSL_CTX_up_ref(ctx);
	else
		snprintf(why, len, "%s", outbound_tls_error);
	pthread_mutex_unlock(&outbound_tls_lock);
	return ctx;
}

void
outbound_tls_reload(const char *ca_file)
{
	char	*error;
	SSL_CTX	*ctx = outbound_tls_build(ca_file, &error);

	pthread_mutex_lock(&outbound_tls_lock);
	outbound_tls_swap(&ctx, &error);
	pthread_mutex_unlock(&outbound_tls_lock);
	SSL_CTX_free(ctx);	/* requests made with it hold their own */
	free(error);
}

/* Resolvers ------------------------------------------------------------ */

struct outbound_dns {
	struct evdns_base	*base;
	struct future		*stopping;	/* fails when the loop stops */
	unsigned int		 refs;
	bool			 closing;
};

static __thread struct outbound_dns	*outbound_dns_here;

static void
outbound_dns_free(struct outbound_dns *dns)
{
	if (outbound_dns_here == dns)
		outbound_dns_here = NULL;
	evdns_base_free(dns->base, 0);
	future_unref(dns->stopping);
	free(dns);
}

/* The loop is stopping: free the resolver once nothing uses it. */
static void
outbound_dns_stop(struct future *f, void *arg, const char *reason)
{
	struct outbound_dns	*dns = arg;

	dns->closing = true;
	if (outbound_dns_here == dns)
		outbound_dns_here = NULL;
	if (dns->refs == 0)
		outbound_dns_free(dns);
}

struct outbound_dns *
outbound_dns_get(struct loop *loop)
{
	struct outbound_dns	*dns = outbound_dns_here;

	if (dns == NULL) {
		dns = xcalloc(1, sizeof(*dns));
		dns->stopping = future_new(loop);
		if (future_done(dns->stopping)) {
			future_unref(dns->stopping);
			free(dns);
			return NULL;
		}
		dns->base = evdns_base_new(loop_base(loop),
		    EVDNS_BASE_INITIALIZE_NAMESERVERS |
		    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
		if (dns->base == NULL)
			fatalx("evdns_base_new");
		future_set_cancel_hook(dns->stopping, outbound_dns_stop, NULL, dns);
		outbound_dns_here = dns;
	}
	dns->refs++;
	return dns;
}

struct evdns_base *
outbound_dns_base(const struct outbound_dns *dns)
{
	return dns->base;
}

void
outbound_dns_put(struct outbound_dns *dns)
{
	if (--dns->refs == 0 && dns->closing)
		outbound_dns_free(dns);
}
