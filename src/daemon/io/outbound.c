#include "autoconf.h"

#include <pthread.h>
#include <stdbool.h>
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

static pthread_once_t	 outbound_tls_once = PTHREAD_ONCE_INIT;
static SSL_CTX		*outbound_tls_ctx;
static char		*outbound_tls_error;	/* why there is no context */

static void
outbound_tls_free(void)
{
	SSL_CTX_free(outbound_tls_ctx);
	outbound_tls_ctx = NULL;
	free(outbound_tls_error);
	outbound_tls_error = NULL;
}

static void
outbound_tls_init(void)
{
	const char	*ca_file = loomd.config != NULL ?
			    loomd.config->http.ca_file : NULL;
	SSL_CTX		*ctx;
	char		 why[256];

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		ERR_error_string_n(ERR_get_error(), why, sizeof(why));
		xasprintf(&outbound_tls_error, "cannot set up TLS: %s", why);
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
		xasprintf(&outbound_tls_error, "cannot load [http] ca_file %s: %s",
		    ca_file, why);
		log_warnx("outbound TLS: %s", outbound_tls_error);
		SSL_CTX_free(ctx);
		ctx = NULL;
	}
	outbound_tls_ctx = ctx;
out:
	ERR_clear_error();
	atexit(outbound_tls_free);
}

SSL_CTX *
outbound_tls(const char **why)
{
	pthread_once(&outbound_tls_once, outbound_tls_init);
	*why = outbound_tls_error;
	return outbound_tls_ctx;
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
