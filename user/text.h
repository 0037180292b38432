/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Text that goes on one terminal line and into JSON unchanged: printable
 * UTF-8, that is well-formed UTF-8 without C0 controls, DEL or C1 controls.
 */
#ifndef EG_TEXT_H
#define EG_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* s is printable UTF-8 (the empty string is). */
bool eg_text_printable(const char *s);

/*
 * Copies in to out (size bytes, size > 0, always terminated) with every byte
 * that is not part of a printable character written as \n, \t, \r or \xNN, and
 * cut at a character or escape boundary. The result is printable, so escaping
 * it again changes nothing.
 */
void eg_text_escape(char *out, size_t size, const char *in);

#endif
