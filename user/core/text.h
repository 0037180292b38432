/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Text that comes from outside (an operator, a file, a socket) and ends up
 * in a table cell, a log line or a JSON document: ban reasons, policy names.
 * One check for all of them, so what one input path refuses no other lets in.
 */
#ifndef EG_TEXT_H
#define EG_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include "error.h"

/*
 * 0 when s is one printable line of valid UTF-8: no control characters
 * (C0, DEL, C1), no line or paragraph separators, no bidirectional
 * overrides, no overlong forms, surrogates or code points past U+10FFFF.
 * Otherwise -1, and why->msg says what is wrong in words that follow a
 * subject ("the ban reason " + "contains a control character").
 */
int eg_text_check(const char *s, struct eg_err *why);

/*
 * eg_text_check of a field shorter than size bytes, with e->msg naming it:
 * "the ban reason is longer than 63 characters", "the ban reason contains a
 * control character".
 */
int eg_text_check_field(const char *what, const char *s, size_t size, struct eg_err *e);

/* eg_text_check without the reason: s is printable UTF-8 (the empty string is). */
bool eg_text_printable(const char *s);

/*
 * Copies in to out (size bytes, size > 0, always terminated) with every byte
 * that is not part of a printable character written as \n, \t, \r or \xNN,
 * and cut at a character or escape boundary. The result is printable, so
 * escaping it again changes nothing. For quoting input in error messages.
 */
void eg_text_escape(char *out, size_t size, const char *in);

/*
 * Copies s into out (size bytes, always terminated) with everything
 * eg_text_check refuses replaced: control characters and separators by a
 * space, each byte that is not valid UTF-8 by '?'. Never longer than s, and
 * cut on a character boundary when out is too small. For text read back
 * from files we wrote, where losing the whole entry would cost more.
 */
void eg_text_sanitize(const char *s, char *out, size_t size);

/*
 * The offset of the first NUL in a JSON text: a raw NUL byte, or a \u0000
 * escape inside a string, which a JSON parser turns into a C string that
 * ends early ("198.51.100.7\u0000junk" would read as "198.51.100.7").
 * -1 when there is none. Says nothing about whether the text is valid JSON.
 */
long eg_json_find_nul(const char *text, size_t len);

#endif
