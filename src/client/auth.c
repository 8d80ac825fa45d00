/*
 * Proving a token: the auth op, with a secret given or read from a file.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "loom/client.h"
#include "internal.h"

#define AUTH_SECRET_MAX	4096

int
loom_auth(struct loom_client *c, const char *secret, double timeout)
{
	json_t		*req, *resp = NULL, *error;
	const char	*code, *message;
	int		 rc;

	if ((req = json_pack("{s:s,s:s}", "op", "auth", "token", secret)) == NULL)
		return client_fail(c, EINVAL, "auth: the secret is not UTF-8 "
		    "text");
	rc = loom_request(c, req, &resp, timeout);
	json_decref(req);
	if (rc == -1)
		return -1;
	if (json_is_true(json_object_get(resp, "ok"))) {
		json_decref(resp);
		return 0;
	}
	error = json_object_get(resp, "error");
	code = json_string_value(json_object_get(error, "code"));
	message = json_string_value(json_object_get(error, "message"));
	rc = client_fail(c, EACCES, "auth: %s: %s", code != NULL ? code :
	    "refused", message != NULL ? message : "");
	json_decref(resp);
	return rc;
}

int
loom_auth_file(struct loom_client *c, const char *path, double timeout)
{
	char	 buf[AUTH_SECRET_MAX + 1];
	size_t	 len = 0;
	ssize_t	 n;
	int	 fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return client_fail(c, errno, "%s: %s", path, strerror(errno));
	while (len < sizeof(buf) - 1 &&
	    (n = read(fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			rc = errno;
			close(fd);
			return client_fail(c, rc, "%s: %s", path, strerror(rc));
		}
		len += (size_t)n;
	}
	close(fd);
	/* A newline at the end is the file's, not the secret's. */
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
	    buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		len--;
	buf[len] = '\0';
	if (len == 0)
		return client_fail(c, EINVAL, "%s: no secret in it", path);
	rc = loom_auth(c, buf, timeout);
	explicit_bzero(buf, sizeof(buf));
	return rc;
}
