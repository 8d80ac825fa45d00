/* The job types, one file each in this directory; types.c lists them. */
#ifndef LOOM_JOBS_TYPES_H
#define LOOM_JOBS_TYPES_H

#include "core/job.h"

extern const struct job_type	job_type_echo;
extern const struct job_type	job_type_sleep;
extern const struct job_type	job_type_sumsq;
extern const struct job_type	job_type_digest;
extern const struct job_type	job_type_pbkdf2;
extern const struct job_type	job_type_gather;
extern const struct job_type	job_type_group;
extern const struct job_type	job_type_wait;
extern const struct job_type	job_type_sequence;
extern const struct job_type	job_type_wait_event;
extern const struct job_type	job_type_exec;
extern const struct job_type	job_type_http;

/* Give the job layer every built-in type (at start, before the loops). */
void	jobs_register_builtin(void);

#endif
