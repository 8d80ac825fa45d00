/* Certificates made at test time (testcert.c). */
#ifndef LOOM_TESTCERT_H
#define LOOM_TESTCERT_H

#include <openssl/x509.h>

/*
 * A certificate for key with subject CN cn, valid from an hour ago for a
 * day: a self-signed CA (issuer NULL: basic constraints and key usage of a
 * CA), or signed by issuer with issuer_key, naming san (e.g.
 * "DNS:localhost,IP:127.0.0.1") when it is not NULL.
 */
X509	*make_cert(EVP_PKEY *key, const char *cn, X509 *issuer,
	    EVP_PKEY *issuer_key, const char *san, long serial);

#endif
