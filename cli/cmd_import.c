// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * import: today's hot-fixes (iptables-save, ipset save, nginx deny/geo) read
 * into a policy fragment and a ban list (user/import/), with a line for
 * everything that did not translate; --apply bans what it found (origin
 * import) the way 'ban --from-file' does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bulk_cli.h"
#include "control_proto.h"
#include "import.h"

/* A reason as a ban file column: one line, and no '#' that would start a comment there. */
static void reason_column(const char *in, char *out, size_t size)
{
	size_t o = 0;

	for (; *in && o + 1 < size; in++)
		out[o++] = *in == '#' ? ' ' : *in;
	out[o] = '\0';
}

static void print_msgs(const char *title, const struct eg_import_msg *m, size_t n)
{
	if (!n)
		return;
	printf("# %s:\n", title);
	for (size_t i = 0; i < n; i++)
		printf("#   line %u: %s\n#     %s\n", m[i].line, m[i].text, m[i].why);
}

static void print_report(const struct eg_import *im, const char *path, const char *applied)
{
	char cidr[EG_CIDR_STRLEN], reason[EG_BAN_REASON_LEN], ttl[32];
	cJSON *pol;
	char *text;

	if (cli_json) {
		cJSON *o = eg_import_json(im);

		if (applied)
			cJSON_AddStringToObject(o, "applied", applied);
		cli_print_json(o);
		return;
	}
	printf("# edgeguard import %s %s: %zu read; %zu bans, %zu port limits, %zu not translated\n",
	       im->format, path, im->nread, im->nbans, im->nlimits, im->nskipped);
	pol = eg_import_policy(im);
	text = pol ? cJSON_Print(pol) : NULL;
	cJSON_Delete(pol);
	printf("# policy fragment (merge into your policy file; 'edgeguard policy check' validates it):\n%s\n",
	       text ? text : "{}");
	free(text);
	printf("# bans ('edgeguard ban --from-file' takes these lines; --apply applies them):\n");
	for (size_t i = 0; i < im->nbans; i++) {
		eg_format_cidr(&im->bans[i].key, cidr, sizeof(cidr));
		if (im->bans[i].ttl_s)
			snprintf(ttl, sizeof(ttl), "%u", im->bans[i].ttl_s);
		else
			snprintf(ttl, sizeof(ttl), "-");
		reason_column(im->bans[i].reason, reason, sizeof(reason));
		printf("%s %s %s\n", cidr, ttl, reason);
	}
	print_msgs("translated with a caveat", im->notes, im->nnotes);
	print_msgs("not translated", im->skipped, im->nskipped);
	if (applied)
		printf("# %s\n", applied);
}

/* The importer's bans as lines of a ban file, with their source line numbers. */
static int to_lines(const struct eg_import *im, struct eg_list_file *f, struct eg_err *e)
{
	memset(f, 0, sizeof(*f));
	f->lines = calloc(im->nbans + 1, sizeof(*f->lines));
	if (!f->lines)
		return eg_fail(e, "out of memory");
	f->cap = im->nbans + 1;
	for (size_t i = 0; i < im->nbans; i++) {
		struct eg_list_line *l = &f->lines[f->n++];

		l->key = im->bans[i].key;
		l->line = im->bans[i].line;
		l->has_ttl = im->bans[i].ttl_s != 0;
		l->ttl_s = im->bans[i].ttl_s;
		snprintf(l->reason, sizeof(l->reason), "%s", im->bans[i].reason);
	}
	return 0;
}

static int run_import(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct cli_bulk b = { .op = EG_BULK_BAN, .origin = EG_ORIGIN_IMPORT, .quiet = true };
	char what[256], summary[EG_CTL_SUMMARY_LEN];
	struct eg_import im;
	struct eg_list_file f;
	struct eg_err e = { 0 };
	bool apply = false;
	long long ttl = 0;
	eg_import_fn parse;
	size_t len;
	char *text;
	int c, rc;

	while ((c = cli_next_opt(cmd, argc, argv, &rc)) != -1) {
		if (c == CLI_DONE)
			return rc;
		if (c == 'a')
			apply = true;
		if (c == 'f')
			b.force = true;
		if (c == 'P')
			b.partial = true;
		if (c == 'r')
			b.reason = optarg;
		if (c == 't' && (ttl = cli_parse_duration(cmd, "--ttl", optarg)) < 0)
			return EXIT_USAGE;
	}
	if (cli_operands(cmd, argc, argv, 2, "a format (iptables-save, ipset, nginx) and a file"))
		return EXIT_USAGE;
	parse = eg_import_parser(argv[optind]);
	if (!parse)
		return cli_usage_error(cmd, "unknown format '%s' (iptables-save, ipset, nginx)",
				       argv[optind]);
	if (!apply && (b.force || b.partial || b.reason || ttl))
		return cli_usage_error(cmd, "--ttl, --reason, --force and --partial go with --apply");
	if (eg_read_input(argv[optind + 1], EG_LISTFILE_MAX_BYTES, &text, &len, &e))
		return cli_fail(&e);
	rc = parse(text, len, &im, &e);
	free(text);
	if (rc)
		return cli_fail(&e);
	if (!apply) {
		print_report(&im, argv[optind + 1], NULL);
		eg_import_free(&im);
		return EXIT_OK;
	}
	snprintf(what, sizeof(what), "import %s %s --apply", im.format, argv[optind + 1]);
	b.what = what;
	b.name = strcmp(argv[optind + 1], "-") ? argv[optind + 1] : "stdin";
	b.ttl_s = (uint32_t)ttl;
	b.summary_out = summary;
	summary[0] = '\0';
	if (to_lines(&im, &f, &e)) {
		eg_import_free(&im);
		return cli_fail(&e);
	}
	rc = cli_bulk_lines(&b, &f);
	print_report(&im, argv[optind + 1], summary[0] ? summary : NULL);
	eg_list_file_free(&f);
	eg_import_free(&im);
	return rc;
}

const struct cli_cmd cmd_import = {
	.name = "import",
	.run = run_import,
	.usage = "import iptables-save|ipset|nginx FILE|- [--apply [--ttl D] [--reason T] [--force] [--partial]]",
	.help = "Reads today's hot-fixes - iptables-save / ip6tables-save output, ipset save\n"
		"output, nginx deny lines and geo blocks - and prints the equivalent policy\n"
		"fragment (recent --hitcount and hashlimit: syn or packet rate limits on their\n"
		"port; connlimit: max_conns) and ban list (-s X -j DROP, set entries, deny X),\n"
		"and a line for everything it could not translate, with why. Changes nothing\n"
		"unless --apply: then the bans are applied (origin import, reason from the\n"
		"rule's comment or its line) as by 'ban --from-file': merged, never shortened,\n"
		"all or nothing (--partial), /0 and this host's addresses refused (--force).\n"
		"--ttl: for bans without a timeout of their own (default permanent).\n",
	.opts = (const struct option[]){
		{ "apply", no_argument, NULL, 'a' },
		{ "ttl", required_argument, NULL, 't' },
		{ "reason", required_argument, NULL, 'r' },
		{ "force", no_argument, NULL, 'f' },
		{ "partial", no_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ 0 },
	},
};
