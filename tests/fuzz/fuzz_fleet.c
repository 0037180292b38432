// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer target: what edgeguardd reads from the fleet's Redis
 * (user/fleet/fleet_proto.h), any bytes as a message and as a key name.
 *  - a refused message or key gets one printable error line;
 *  - an accepted message formats to a text that parses back to the same
 *    message (every field), and its host passes eg_fleet_check_host;
 *  - an accepted key name, rebuilt by eg_fleet_key (the canonical spelling),
 *    parses back to the same kind and address.
 */
#include "fleet_proto.h"
#include "fuzz_common.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one_line(const struct eg_err *e)
{
	struct eg_err why;

	FZ_ASSERT(e->msg[0] && !strchr(e->msg, '\n') && !eg_text_check(e->msg, &why),
		  "error '%s' is not one printable line", e->msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eg_fleet_msg m, again;
	enum eg_fleet_key_kind kind;
	struct eg_lpm_key k;
	struct eg_err e = { 0 }, why = { 0 };
	char name[EG_FLEET_MAX_KEY];
	char *text;

	if (eg_fleet_msg_parse((const char *)data, size, &m, &e)) {
		one_line(&e);
	} else {
		FZ_ASSERT(!eg_fleet_check_host(m.host, &why), "accepted host '%s'", m.host);
		text = eg_fleet_msg_format(&m);
		FZ_ASSERT(text, "an accepted message does not format");
		FZ_ASSERT(!eg_fleet_msg_parse(text, strlen(text), &again, &why),
			  "'%s' does not parse back: %s", text, why.msg);
		FZ_ASSERT(again.op == m.op && !memcmp(&again.key, &m.key, sizeof(m.key)) &&
			  again.ttl_s == m.ttl_s && again.origin == m.origin &&
			  again.ts_ms == m.ts_ms && !strcmp(again.host, m.host) &&
			  !strcmp(again.reason, m.reason) && !strcmp(again.trigger, m.trigger),
			  "'%s' parses back to another message", text);
		free(text);
	}
	memset(&e, 0, sizeof(e));
	if (eg_fleet_key_parse("edgeguard:", (const char *)data, size, &kind, &k, &e)) {
		one_line(&e);
	} else {
		enum eg_fleet_key_kind kind2;
		struct eg_lpm_key k2;

		eg_fleet_key("edgeguard:", kind, &k, name, sizeof(name));
		FZ_ASSERT(!eg_fleet_key_parse("edgeguard:", name, strlen(name), &kind2, &k2, &why),
			  "rebuilt key '%s' refused: %s", name, why.msg);
		FZ_ASSERT(kind2 == kind && !memcmp(&k2, &k, sizeof(k)),
			  "rebuilt key '%s' names another key", name);
	}
	return 0;
}
