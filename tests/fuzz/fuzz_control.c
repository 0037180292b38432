// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer target for the control protocol's request parser (the daemon
 * runs it on whatever a local client sends). Beyond not crashing, a request
 * it accepts must pass the same checks the CLI applies, hold only printable
 * UTF-8 text, and come back the same after formatting and parsing again.
 *
 * By hand:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Ibpf -Iuser \
 *     tests/fuzz/fuzz_control.c user/control/control_proto.c user/core/text.c user/core/addr.c \
 *     user/core/error.c -lcjson -o build/fuzz_control
 *   build/fuzz_control tests/fuzz/corpus/control -max_total_time=60
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "control_proto.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eg_ctl_request r, again;
	struct eg_err e = { 0 }, why;
	char clean[64];
	char *line;

	/* The shared text helpers see the same bytes: none may read past them. */
	eg_json_find_nul((const char *)data, size);
	if (size < sizeof(clean) && !memchr(data, '\0', size)) {
		char s[sizeof(clean)];

		memcpy(s, data, size);
		s[size] = '\0';
		eg_text_sanitize(s, clean, sizeof(clean));
		if (eg_text_check(clean, &why))
			abort(); /* sanitized text must pass the check */
	}

	if (eg_ctl_parse_request((const char *)data, size, &r, &e)) {
		if (!e.msg[0] || memchr(e.msg, '\n', strlen(e.msg)) || eg_text_check(e.msg, &why))
			abort(); /* every refusal says why, in one printable line */
		return 0;
	}
	if (eg_ctl_check_request(&r, &e) || eg_text_check(r.reason, &why) ||
	    (r.id[0] && !eg_ctl_id_valid(r.id)))
		abort();
	line = eg_ctl_format_request(&r);
	if (!line)
		return 0; /* out of memory */
	if (eg_ctl_parse_request(line, strlen(line), &again, &e) || again.cmd != r.cmd ||
	    strcmp(again.id, r.id) || eg_ctl_request_hash(&again) != eg_ctl_request_hash(&r))
		abort();
	free(line);
	return 0;
}
