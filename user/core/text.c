// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "text.h"

/*
 * Decodes one UTF-8 character at s (n bytes available). Returns its length
 * and stores the code point, or returns 0 for a byte that does not start a
 * valid, shortest-form character.
 */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t len;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0; /* a continuation byte, an overlong lead (C0, C1) or past U+10FFFF */
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Characters that would break a line, a table cell or the reading order. */
static bool unprintable(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || /* C0, DEL, C1 */
	       cp == 0x2028 || cp == 0x2029 ||                          /* line, paragraph */
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069); /* bidi */
}

int eg_text_check(const char *s, struct eg_err *why)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), len;
	uint32_t cp;

	for (size_t i = 0; i < n; i += len) {
		len = utf8_decode(p + i, n - i, &cp);
		if (!len)
			return eg_fail(why, "is not valid UTF-8 (byte %zu)", i + 1);
		if (unprintable(cp))
			return eg_fail(why, cp < 0x20 || cp == 0x7f ? "contains a control character" :
				       "contains an invisible formatting or control character");
	}
	return 0;
}

int eg_text_check_field(const char *what, const char *s, size_t size, struct eg_err *e)
{
	struct eg_err why;

	if (strlen(s) >= size)
		return eg_fail(e, "%s is longer than %zu characters", what, size - 1);
	if (eg_text_check(s, &why))
		return eg_fail(e, "%s %s", what, why.msg);
	return 0;
}

bool eg_text_printable(const char *s)
{
	return eg_text_check(s, NULL) == 0;
}

void eg_text_escape(char *out, size_t size, const char *in)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0, n = strlen(in), len;
	uint32_t cp;
	char esc[5];

	for (size_t i = 0; i < n; i += len) {
		len = utf8_decode(p + i, n - i, &cp);
		if (len && !unprintable(cp)) {
			if (o + len >= size)
				break;
			memcpy(out + o, p + i, len);
			o += len;
			continue;
		}
		/* A whole unprintable character, or one stray byte, escaped byte by byte. */
		if (!len)
			len = 1;
		for (size_t j = 0; j < len; j++) {
			unsigned char c = p[i + j];

			if (c == '\n' || c == '\t' || c == '\r')
				snprintf(esc, sizeof(esc), "\\%c", c == '\n' ? 'n' : c == '\t' ? 't' : 'r');
			else
				snprintf(esc, sizeof(esc), "\\x%02x", c);
			if (o + strlen(esc) >= size)
				goto out;
			memcpy(out + o, esc, strlen(esc));
			o += strlen(esc);
		}
	}
out:
	out[o] = '\0';
}

void eg_text_sanitize(const char *s, char *out, size_t size)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), len, o = 0;
	uint32_t cp;

	if (!size)
		return;
	for (size_t i = 0; i < n; i += len) {
		len = utf8_decode(p + i, n - i, &cp);
		if (!len) {
			len = 1;
			if (o + 1 >= size)
				break;
			out[o++] = '?';
		} else if (unprintable(cp)) {
			if (o + 1 >= size)
				break;
			out[o++] = ' ';
		} else {
			if (o + len >= size)
				break;
			memcpy(out + o, p + i, len);
			o += len;
		}
	}
	out[o] = '\0';
}

long eg_json_find_nul(const char *text, size_t len)
{
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		char c = text[i];

		if (c == '\0')
			return (long)i;
		if (!in_string) {
			in_string = c == '"';
			continue;
		}
		if (c == '"') {
			in_string = false;
		} else if (c == '\\' && i + 1 < len) {
			if (text[i + 1] == 'u' && i + 5 < len && !memcmp(text + i + 2, "0000", 4))
				return (long)i;
			i++; /* the escaped character, whatever it is, does not end the string */
		}
	}
	return -1;
}
