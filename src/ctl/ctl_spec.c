/*
 * A job spec from the command line: its args (inline, from a file or from
 * stdin, with KEY=VALUE words on top), --after and --limits; and files of
 * whole specs for submit --file.
 */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_args.h"
#include "ctl_args_private.h"

#define CTL_FILE_MAX	(64 * 1024 * 1024)	/* --args @FILE */

/* A whole file, or stdin for "-", as a string; NULL with err set. */
static char *
ctl_slurp(const char *name, const char *what, char *err, size_t errlen)
{
	FILE	*f;
	char	*buf = NULL;
	size_t	 len = 0, size = 0, n;

	if (strcmp(name, "-") == 0)
		f = stdin;
	else if ((f = fopen(name, "r")) == NULL) {
		ctl_fail(err, errlen, "%s: cannot open %s: %s", what, name,
		    strerror(errno));
		return NULL;
	}
	for (;;) {
		if (len + 1 >= size) {
			size = size == 0 ? 4096 : size * 2;
			if (size > CTL_FILE_MAX || (buf = realloc(buf, size)) == NULL)
				break;
		}
		if ((n = fread(buf + len, 1, size - len - 1, f)) == 0)
			break;
		len += n;
	}
	if (buf == NULL || size > CTL_FILE_MAX || ferror(f)) {
		ctl_fail(err, errlen, "%s: cannot read %s%s", what, name,
		    size > CTL_FILE_MAX ? " (larger than 64 MiB)" : "");
		free(buf);
		buf = NULL;
	} else
		buf[len] = '\0';
	if (f != stdin)
		fclose(f);
	return buf;
}

/* --args JSON, --args @FILE or --args - (stdin): one JSON object. */
static json_t *
ctl_load_args(const char *opt, char *err, size_t errlen)
{
	json_error_t	 jerr;
	json_t		*args;
	const char	*from = NULL;
	char		*text = NULL;

	if (opt[0] == '@' || strcmp(opt, "-") == 0) {
		from = opt[0] == '@' ? opt + 1 : "-";
		if ((text = ctl_slurp(from, "--args", err, errlen)) == NULL)
			return NULL;
		opt = text;
	}
	args = json_loads(opt, JSON_DECODE_ANY, &jerr);
	free(text);
	if (args == NULL) {
		if (from != NULL)
			ctl_fail(err, errlen, "--args: %s:%d: not valid JSON: %s",
			    strcmp(from, "-") == 0 ? "stdin" : from, jerr.line,
			    jerr.text);
		else
			ctl_fail(err, errlen, "--args: not valid JSON: %s",
			    jerr.text);
		return NULL;
	}
	if (!json_is_object(args)) {
		json_decref(args);
		ctl_fail(err, errlen, "--args must be a JSON object");
		return NULL;
	}
	return args;
}

int
ctl_spec_args(const char *args_opt, char *const *words, int nwords,
    json_t **out, char *err, size_t errlen)
{
	json_t		*args, *value;
	const char	*word, *eq;
	char		*key;
	int		 i, rc;

	*out = NULL;
	if (args_opt != NULL) {
		if ((args = ctl_load_args(args_opt, err, errlen)) == NULL)
			return CTL_EXIT_USAGE;
	} else
		args = json_object();

	for (i = 0; i < nwords; i++) {
		word = words[i];
		if ((eq = strchr(word, '=')) == NULL) {
			json_decref(args);
			return ctl_fail(err, errlen, "expected KEY=VALUE after the "
			    "job type, got '%s'", word);
		}
		if (eq == word) {
			json_decref(args);
			return ctl_fail(err, errlen, "'%s': the key is empty", word);
		}
		if ((value = ctl_parse_value(eq + 1)) == NULL) {
			json_decref(args);
			return ctl_fail(err, errlen, "'%s': not valid UTF-8", word);
		}
		key = strndup(word, eq - word);
		rc = key != NULL ? json_object_set_new(args, key, value) : -1;
		free(key);
		if (rc == -1) {
			json_decref(args);
			return ctl_fail(err, errlen, "'%s': not valid UTF-8", word);
		}
	}
	*out = args;
	return 0;
}

int
ctl_spec_after(json_t *job, json_t *values, char *err, size_t errlen)
{
	json_t		*ids, *v;
	const char	*s;
	char		*copy, *tok, *save;
	long long	 id;
	size_t		 i;
	int		 rc = 0;

	if (json_array_size(values) == 0)
		return 0;
	ids = json_array();
	json_array_foreach(values, i, v) {
		s = json_string_value(v);
		if ((copy = strdup(s)) == NULL) {
			rc = ctl_fail(err, errlen, "out of memory");
			break;
		}
		for (tok = strtok_r(copy, ",", &save); tok != NULL && rc == 0;
		    tok = strtok_r(NULL, ",", &save)) {
			if ((rc = ctl_job_id(tok, "--after", &id, err, errlen)) == 0)
				json_array_append_new(ids, json_integer(id));
		}
		free(copy);
		if (rc != 0)
			break;
	}
	if (rc == 0 && json_array_size(ids) == 0)
		rc = ctl_fail(err, errlen, "--after needs at least one job id");
	if (rc != 0) {
		json_decref(ids);
		return rc;
	}
	json_object_set_new(job, "after", ids);
	return 0;
}

int
ctl_spec_limits(json_t *job, json_t *values, char *err, size_t errlen)
{
	json_t	*names, *v, *name;
	char	*copy, *tok, *save;
	size_t	 i;

	if (json_array_size(values) == 0)
		return 0;
	names = json_array();
	json_array_foreach(values, i, v) {
		if ((copy = strdup(json_string_value(v))) == NULL) {
			json_decref(names);
			return ctl_fail(err, errlen, "out of memory");
		}
		for (tok = strtok_r(copy, ",", &save); tok != NULL;
		    tok = strtok_r(NULL, ",", &save)) {
			if ((name = json_string(tok)) == NULL) {
				free(copy);
				json_decref(names);
				return ctl_fail(err, errlen, "--limits: not valid "
				    "UTF-8");
			}
			json_array_append_new(names, name);
		}
		free(copy);
	}
	if (json_array_size(names) == 0) {
		json_decref(names);
		return ctl_fail(err, errlen, "--limits needs at least one name");
	}
	json_object_set_new(job, "limits", names);
	return 0;
}

json_t *
ctl_read_specs(FILE *f, const char *name, json_t **lines, char *err,
    size_t errlen)
{
	json_error_t	 jerr;
	json_t		*specs = json_array(), *spec;
	char		*line = NULL, *p;
	size_t		 size = 0;
	ssize_t		 len;
	long long	 n = 0;

	*lines = json_array();
	while ((len = getline(&line, &size, f)) != -1) {
		n++;
		for (p = line; isspace((unsigned char)*p); p++)
			;
		if (*p == '\0' || *p == '#')
			continue;
		if ((spec = json_loads(p, 0, &jerr)) == NULL) {
			ctl_fail(err, errlen, "%s:%lld: not a JSON job spec: %s",
			    name, n, jerr.text);
			goto fail;
		}
		if (!json_is_object(spec)) {
			json_decref(spec);
			ctl_fail(err, errlen, "%s:%lld: a job spec must be a JSON "
			    "object", name, n);
			goto fail;
		}
		json_array_append_new(specs, spec);
		json_array_append_new(*lines, json_integer(n));
	}
	if (ferror(f)) {
		ctl_fail(err, errlen, "%s: cannot read it", name);
		goto fail;
	}
	if (json_array_size(specs) == 0) {
		ctl_fail(err, errlen, "%s: no job specs in it", name);
		goto fail;
	}
	free(line);
	return specs;
fail:
	free(line);
	json_decref(specs);
	json_decref(*lines);
	*lines = NULL;
	return NULL;
}
