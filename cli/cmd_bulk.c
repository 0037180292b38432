// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* ban|unban|allow --from-file and import --apply: many changes at once (bulk_cli.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bulk_cli.h"
#include "control_client.h"
#include "guard.h"
#include "pins.h"

int cli_guard_check(const struct eg_lpm_key *k, struct eg_err *e)
{
	static struct eg_guard g;
	static bool loaded;

	if (!loaded && eg_guard_load(&g, e))
		return -1;
	loaded = true;
	return eg_guard_check(&g, k, e);
}

/* Guard refusals join the file's own rejections, with their line numbers. */
static int guard_lines(const struct cli_bulk *b, struct eg_list_file *f)
{
	struct eg_err e = { 0 };
	size_t out = 0;

	for (size_t i = 0; i < f->n; i++) {
		if (b->op == EG_BULK_BAN && !b->force && cli_guard_check(&f->lines[i].key, &e)) {
			if (e.code != EPERM)
				return cli_fail(&e);
			if (eg_list_file_reject(f, f->lines[i].line, e.msg, &e))
				return cli_fail(&e);
			continue;
		}
		f->lines[out++] = f->lines[i];
	}
	f->n = out;
	return 0;
}

static int cmp_reject(const void *a, const void *b)
{
	uint32_t x = ((const struct eg_list_reject *)a)->line, y = ((const struct eg_list_reject *)b)->line;

	return x < y ? -1 : x > y;
}

static void tell_daemon(const char *summary)
{
	struct eg_ctl_request r = { .cmd = EG_CTL_BULK };
	struct eg_err e = { 0 };

	snprintf(r.summary, sizeof(r.summary), "%s", summary);
	if (ctl_do(&r, &e) == CTL_FAILED)
		fprintf(stderr,
			"edgeguard: warning: edgeguardd was not told (%s); the maps hold the change and the daemon saves it at its next tick\n",
			e.msg);
}

static void print_result(const struct cli_bulk *b, const struct eg_list_file *f,
			 const struct eg_bulk_result *r, bool applied, const char *summary)
{
	cJSON *o, *rej;

	if (b->summary_out)
		snprintf(b->summary_out, EG_CTL_SUMMARY_LEN, "%s", summary);
	if (b->quiet)
		return;
	if (!cli_json) {
		printf("%s\n", summary);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "what", b->what);
	cJSON_AddBoolToObject(o, "applied", applied);
	cJSON_AddNumberToObject(o, "added", (double)r->added);
	cJSON_AddNumberToObject(o, "extended", (double)r->extended);
	cJSON_AddNumberToObject(o, "unchanged", (double)r->unchanged);
	cJSON_AddNumberToObject(o, "removed", (double)r->removed);
	cJSON_AddNumberToObject(o, "absent", (double)r->absent);
	cJSON_AddNumberToObject(o, "kept", (double)r->kept);
	cJSON_AddNumberToObject(o, "duplicates", (double)r->duplicates);
	rej = cJSON_AddArrayToObject(o, "rejected");
	for (size_t i = 0; i < f->nrejects; i++) {
		cJSON *x = cJSON_CreateObject();

		cJSON_AddNumberToObject(x, "line", f->rejects[i].line);
		cJSON_AddStringToObject(x, "error", f->rejects[i].msg);
		cJSON_AddItemToArray(rej, x);
	}
	cli_print_json(o);
}

int cli_bulk_lines(const struct cli_bulk *b, struct eg_list_file *f)
{
	struct eg_bulk_result r = { 0 };
	struct eg_bulk_item *items;
	struct eg_err e = { 0 };
	char counts[256], summary[EG_CTL_SUMMARY_LEN];
	struct eg_maps m;
	size_t n;
	int rc;

	if ((rc = guard_lines(b, f)))
		return rc;
	if (f->nrejects) /* rejects is NULL when there are none (import --apply) */
		qsort(f->rejects, f->nrejects, sizeof(*f->rejects), cmp_reject);
	for (size_t i = 0; i < f->nrejects; i++)
		fprintf(stderr, "edgeguard: %s:%u: %s\n", b->name, f->rejects[i].line,
			f->rejects[i].msg);
	if (f->nrejects && !b->partial) {
		snprintf(summary, sizeof(summary),
			 "%s: %zu of %zu entries rejected; nothing applied (--partial applies the others)",
			 b->what, f->nrejects, f->nrejects + f->n);
		print_result(b, f, &r, false, summary);
		return EXIT_FAIL;
	}
	items = calloc(f->n + 1, sizeof(*items));
	if (!items) {
		eg_fail(&e, "out of memory");
		return cli_fail(&e);
	}
	for (size_t i = 0; i < f->n; i++) {
		const struct eg_list_line *l = &f->lines[i];

		items[i].key = l->key;
		items[i].ttl_s = l->has_ttl ? l->ttl_s : b->ttl_s;
		items[i].reason = l->reason[0] ? l->reason : b->reason;
	}
	n = f->n;
	if (eg_maps_open_pinned(&m, &e)) {
		free(items);
		return cli_fail(&e);
	}
	rc = eg_bulk_apply(&m, b->op, b->origin, items, &n, &r, &e);
	eg_maps_close(&m);
	free(items);
	if (rc)
		return cli_fail(&e);
	eg_bulk_summary(b->op, &r, counts, sizeof(counts));
	snprintf(summary, sizeof(summary), "%s: %s%s, %zu rejected", b->what, counts,
		 r.duplicates ? " (repeated keys counted once)" : "", f->nrejects);
	tell_daemon(summary);
	print_result(b, f, &r, true, summary);
	return f->nrejects ? EXIT_FAIL : EXIT_OK;
}

int cli_bulk_file(const struct cli_bulk *b, const char *path)
{
	struct eg_list_file f;
	struct eg_err e = { 0 };
	size_t len;
	char *text;
	int rc;

	if (eg_read_input(path, EG_LISTFILE_MAX_BYTES, &text, &len, &e))
		return cli_fail(&e);
	rc = eg_list_file_parse(text, len, b->op != EG_BULK_BAN, &f, &e);
	free(text);
	if (rc)
		return cli_fail(&e);
	rc = cli_bulk_lines(b, &f);
	eg_list_file_free(&f);
	return rc;
}
