// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "text.h"

/*
 * The length of the character at s (n bytes left) if it is printable: ASCII
 * 0x20..0x7e, or a well-formed UTF-8 sequence (no overlong form, surrogate or
 * code point above U+10FFFF) that is not a C1 control. Otherwise 0.
 */
static size_t printable_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] >= 0x20 && s[0] < 0x7f)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1fU;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0fU;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07U;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fU);
	}
	if (cp < 0xa0 || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

bool eg_text_printable(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), len;

	while (n) {
		len = printable_len(p, n);
		if (!len)
			return false;
		p += len;
		n -= len;
	}
	return true;
}

void eg_text_escape(char *out, size_t size, const char *in)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0, n = strlen(in), len;
	char esc[5];

	while (n) {
		len = printable_len(p, n);
		if (len) {
			if (o + len >= size)
				break;
			memcpy(out + o, p, len);
			o += len;
		} else {
			len = 1;
			if (*p == '\n' || *p == '\t' || *p == '\r')
				snprintf(esc, sizeof(esc), "\\%c",
					 *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r');
			else
				snprintf(esc, sizeof(esc), "\\x%02x", *p);
			if (o + strlen(esc) >= size)
				break;
			memcpy(out + o, esc, strlen(esc));
			o += strlen(esc);
		}
		p += len;
		n -= len;
	}
	out[o] = '\0';
}
