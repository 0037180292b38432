// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Ban and allow list files (listfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "duration.h"
#include "listfile.h"
#include "text.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The next word of [*p, end): its start and length; *p moves past it. 0 when none. */
static size_t next_word(const char **p, const char *end, const char **word)
{
	const char *s = *p;

	while (s < end && is_blank(*s))
		s++;
	*word = s;
	while (s < end && !is_blank(*s))
		s++;
	*p = s;
	return (size_t)(s - *word);
}

int eg_list_file_reject(struct eg_list_file *f, uint32_t line, const char *msg, struct eg_err *e)
{
	if (f->nrejects == f->rejects_cap) {
		size_t cap = f->rejects_cap ? 2 * f->rejects_cap : 16;
		struct eg_list_reject *r = realloc(f->rejects, cap * sizeof(*r));

		if (!r)
			return eg_fail_code(e, ENOMEM, "out of memory reading the list file");
		f->rejects = r;
		f->rejects_cap = cap;
	}
	f->rejects[f->nrejects].line = line;
	snprintf(f->rejects[f->nrejects].msg, sizeof(f->rejects[0].msg), "%s", msg);
	f->nrejects++;
	return 0;
}

static struct eg_list_line *new_line(struct eg_list_file *f, struct eg_err *e)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 1024;
		struct eg_list_line *l = realloc(f->lines, cap * sizeof(*l));

		if (!l) {
			eg_fail_code(e, ENOMEM, "out of memory reading the list file");
			return NULL;
		}
		f->lines = l;
		f->cap = cap;
	}
	memset(&f->lines[f->n], 0, sizeof(f->lines[0]));
	return &f->lines[f->n];
}

/* One line without its end: 0 parsed or skipped (reject recorded), -1 out of memory. */
static int parse_line(struct eg_list_file *f, uint32_t no, const char *s, const char *end,
		      bool addr_only, struct eg_err *e)
{
	char word[EG_CIDR_STRLEN + 16], reason[EG_BAN_REASON_LEN * 4 + 1], msg[EG_ERR_LEN];
	struct eg_list_line *l;
	struct eg_err why = { 0 };
	const char *w, *hash;
	uint64_t ttl;
	size_t n;

	/* A '#' starting a word starts a comment. */
	for (hash = s; hash < end; hash++)
		if (*hash == '#' && (hash == s || is_blank(hash[-1])))
			break;
	end = hash;
	while (end > s && is_blank(end[-1]))
		end--;
	n = next_word(&s, end, &w);
	if (!n)
		return 0;
	if (!(l = new_line(f, e)))
		return -1;
	l->line = no;
	if (n >= sizeof(word)) {
		snprintf(msg, sizeof(msg), "'%.40s...' is not an address or CIDR", w);
		return eg_list_file_reject(f, no, msg, e);
	}
	memcpy(word, w, n);
	word[n] = '\0';
	if (memchr(word, '\0', n) || eg_text_check(word, &why) ||
	    eg_parse_cidr(word, &l->key, &why)) {
		snprintf(msg, sizeof(msg), "%s", why.msg[0] ? why.msg : "not an address or CIDR");
		return eg_list_file_reject(f, no, msg, e);
	}
	if (addr_only) {
		f->n++;
		return 0;
	}
	n = next_word(&s, end, &w);
	if (n && !(n == 1 && *w == '-')) {
		if (n >= sizeof(word)) {
			snprintf(msg, sizeof(msg), "TTL '%.20s...' is not a duration", w);
			return eg_list_file_reject(f, no, msg, e);
		}
		memcpy(word, w, n);
		word[n] = '\0';
		if (memchr(word, '\0', n) || eg_parse_duration(word, &ttl, &why)) {
			snprintf(msg, sizeof(msg), "TTL: %.200s",
				 why.msg[0] ? why.msg : "not a duration");
			return eg_list_file_reject(f, no, msg, e);
		}
		l->has_ttl = true;
		l->ttl_s = (uint32_t)ttl;
	}
	while (s < end && is_blank(*s))
		s++;
	n = (size_t)(end - s);
	if (n) {
		if (n >= EG_BAN_REASON_LEN) {
			snprintf(msg, sizeof(msg), "the reason is longer than %d characters",
				 EG_BAN_REASON_LEN - 1);
			return eg_list_file_reject(f, no, msg, e);
		}
		memcpy(reason, s, n);
		reason[n] = '\0';
		if (memchr(reason, '\0', n) ||
		    eg_text_check_field("the reason", reason, EG_BAN_REASON_LEN, &why)) {
			snprintf(msg, sizeof(msg), "%s",
				 why.msg[0] ? why.msg : "the reason holds a NUL character");
			return eg_list_file_reject(f, no, msg, e);
		}
		memcpy(l->reason, reason, n + 1);
	}
	f->n++;
	return 0;
}

int eg_list_file_parse(const char *text, size_t len, bool addr_only, struct eg_list_file *f,
		       struct eg_err *e)
{
	const char *p = text, *end = text + len, *nl, *le;
	uint32_t no = 0;

	memset(f, 0, sizeof(*f));
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		le = nl ? nl : end;
		no++;
		if (le > p && le[-1] == '\r')
			le--;
		if (parse_line(f, no, p, le, addr_only, e)) {
			eg_list_file_free(f);
			return -1;
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}

void eg_list_file_free(struct eg_list_file *f)
{
	free(f->lines);
	free(f->rejects);
	memset(f, 0, sizeof(*f));
}

int eg_read_input(const char *path, size_t max, char **out, size_t *len, struct eg_err *e)
{
	bool is_stdin = !strcmp(path, "-");
	const char *name = is_stdin ? "standard input" : path;
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 1 << 16, n = 0;
	char *buf = NULL, *nb;
	ssize_t got;

	*out = NULL;
	*len = 0;
	if (fd < 0)
		return eg_fail_errno(e, errno, "cannot open %s", path);
	for (;;) {
		if (!buf || n + 1 >= cap) {
			if (buf)
				cap *= 2;
			if (cap > max + 2)
				cap = max + 2;
			nb = realloc(buf, cap);
			if (!nb) {
				eg_fail_code(e, ENOMEM, "out of memory reading %s", name);
				goto fail;
			}
			buf = nb;
		}
		got = read(fd, buf + n, cap - 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			eg_fail_errno(e, errno, "cannot read %s", name);
			goto fail;
		}
		if (!got)
			break;
		n += (size_t)got;
		if (n > max) {
			eg_fail_code(e, EFBIG, "%s is larger than %zu bytes", name, max);
			goto fail;
		}
	}
	buf[n] = '\0';
	if (!is_stdin)
		close(fd);
	*out = buf;
	*len = n;
	return 0;
fail:
	if (!is_stdin)
		close(fd);
	free(buf);
	return -1;
}
