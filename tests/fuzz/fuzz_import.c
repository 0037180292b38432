// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer target: the importers (user/import/import.h). The first byte
 * picks the format (iptables-save, ipset, nginx), the rest is the text.
 *
 * Invariants:
 *  - a parse only fails out of memory (never here): it never stops at a line;
 *  - every ban is a canonical CIDR (it formats and parses back to itself),
 *    its reason and every message's text and why are printable one-liners,
 *    and every line number is within the text;
 *  - the policy fragment is one the policy-file parser accepts, whatever the
 *    rules were: an importer never prints a fragment 'policy check' refuses;
 *  - the JSON report renders.
 */
#include "fuzz_common.h"
#include "import.h"
#include "policy_file.h"

static void check_msgs(const struct eg_import_msg *m, size_t n, uint32_t lines)
{
	for (size_t i = 0; i < n; i++) {
		FZ_ASSERT(m[i].line >= 1 && m[i].line <= lines, "message line %u of %u", m[i].line,
			  lines);
		FZ_ASSERT(!fz_text_problem(m[i].text), "message text: %s",
			  fz_text_problem(m[i].text));
		FZ_ASSERT(m[i].why[0] && !fz_text_problem(m[i].why), "message why: '%s'", m[i].why);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const formats[] = { "iptables-save", "ipset", "nginx" };
	struct eg_policy_file pf;
	struct eg_import im;
	struct eg_err e = { 0 };
	char cidr[EG_CIDR_STRLEN], *frag;
	struct eg_lpm_key k;
	uint32_t lines = 1;
	cJSON *o;

	if (size < 1)
		return 0;
	for (size_t i = 1; i < size; i++)
		lines += data[i] == '\n';
	FZ_ASSERT(eg_import_parser(formats[data[0] % 3])((const char *)data + 1, size - 1, &im,
							 &e) == 0,
		  "parse failed: %s", e.msg);
	for (size_t i = 0; i < im.nbans; i++) {
		eg_format_cidr(&im.bans[i].key, cidr, sizeof(cidr));
		FZ_ASSERT(!eg_parse_cidr(cidr, &k, &e) && !memcmp(&k, &im.bans[i].key, sizeof(k)),
			  "ban %s is not canonical", cidr);
		FZ_ASSERT(!fz_text_problem(im.bans[i].reason), "ban reason: %s",
			  fz_text_problem(im.bans[i].reason));
		FZ_ASSERT(im.bans[i].line >= 1 && im.bans[i].line <= lines, "ban line %u of %u",
			  im.bans[i].line, lines);
	}
	check_msgs(im.skipped, im.nskipped, lines);
	check_msgs(im.notes, im.nnotes, lines);
	o = eg_import_policy(&im);
	frag = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	FZ_ASSERT(frag, "the fragment does not render");
	FZ_ASSERT(!eg_policy_file_parse(frag, strlen(frag), "fragment", &pf, &e),
		  "the fragment is refused: %s: %s", e.msg, frag);
	eg_policy_file_free(&pf);
	free(frag);
	o = eg_import_json(&im);
	frag = cJSON_PrintUnformatted(o);
	FZ_ASSERT(frag, "the report does not render");
	free(frag);
	cJSON_Delete(o);
	eg_import_free(&im);
	return 0;
}
