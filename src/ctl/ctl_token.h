/*
 * loomctl token new NAME: a fresh secret and its loomd.conf lines.
 */
#ifndef LOOM_CTL_TOKEN_H
#define LOOM_CTL_TOKEN_H

#include <stdio.h>

/* An exit status (ctl_args.h); errors are printed to stderr. */
int	ctl_token_new(const char *name, FILE *out);

#endif
