/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* One-line error messages carried out of the library to whoever prints them. */
#ifndef EG_ERROR_H
#define EG_ERROR_H

#define EG_ERR_LEN 256

struct eg_err {
	char msg[EG_ERR_LEN];
	/*
	 * The errno the failure came from (EPERM, ENOENT, ENOSPC, ...), so a
	 * caller branches on it rather than on the text; 0 when it is not an
	 * error of the system's.
	 */
	int code;
};

/*
 * Sets e->msg (if e is not NULL), e->code to 0, and returns -1, so callers
 * can `return eg_fail(...)`.
 * The message is always one line of printable UTF-8: control characters and
 * bytes that are not UTF-8 in it (quoted input, say) come out as \n, \t, \r, \xNN.
 */
int eg_fail(struct eg_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The same with e->code = code (an errno value) and the message as given. */
int eg_fail_code(struct eg_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The same for a system error err (an errno value): the message ends ": strerror(err)". */
int eg_fail_errno(struct eg_err *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The same for a message about a place in a file: "FILE: PATH: reason", or "FILE: reason". */
int eg_fail_at(struct eg_err *e, const char *file, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
