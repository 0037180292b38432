// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The fleet benchmark's two measurements (bench/fleet/run.sh sets up the
 * hosts and the Redis):
 *
 *   fleet_bench latency EDGEGUARD FROM-PINS FROM-RUN TO-PINS COUNT
 *     COUNT times: runs `EDGEGUARD ban ADDR --ttl 600` as host FROM (its pins
 *     and run directory, so through its daemon) and waits until ADDR is in
 *     host TO's ban map with origin fleet. Prints the propagation latency
 *     (from the start of the command to the ban in TO's map) and the
 *     command's own time: p50, p99, max, and how many never arrived (5 s).
 *
 *   fleet_bench fill HOST PORT PREFIX COUNT
 *     Writes COUNT ban keys as another host ("bench-src") would, with the
 *     same formatter the daemons use: half exact IPv4 addresses
 *     (198.18.0.0/15), half /24s (11.0.0.0/8), TTL one hour; pipelined.
 *
 * Prints figures; fails only when it could not measure.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <hiredis/hiredis.h>
#include "addr.h"
#include "clock.h"
#include "fleet_proto.h"
#include "lists.h"
#include "maps.h"
#include "paths.h"
#include "pins.h"

#define WAIT_NS (5ULL * 1000000000ULL)

extern char **environ;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *v, size_t n)
{
	if (!n) {
		printf("%-28s no samples\n", what);
		return;
	}
	qsort(v, n, sizeof(*v), cmp_u64);
	printf("%-28s p50 %8.2f ms   p99 %8.2f ms   max %8.2f ms   (%zu bans)\n", what,
	       (double)v[n / 2] / 1e6, (double)v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] / 1e6,
	       (double)v[n - 1] / 1e6, n);
}

static int open_maps(const char *pins, struct eg_maps *m)
{
	struct eg_err e = { 0 };

	setenv(EG_PIN_DIR_ENV, pins, 1);
	eg_maps_init(m);
	if (eg_maps_open_pinned(m, &e)) {
		fprintf(stderr, "fleet_bench: %s: %s\n", pins, e.msg);
		return -1;
	}
	return 0;
}

/* Runs `edgeguard ban addr --ttl 600` with host FROM's environment; 0 when it succeeded. */
static int run_ban(const char *eg, char *const env[], const char *addr)
{
	char *argv[] = { (char *)eg, "ban", (char *)addr, "--ttl", "600", "--reason", "bench", NULL };
	posix_spawn_file_actions_t fa;
	int status;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (posix_spawn(&pid, eg, &fa, NULL, argv, env)) {
		posix_spawn_file_actions_destroy(&fa);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int latency(int argc, char **argv)
{
	const char *eg = argv[0], *from_pins = argv[1], *from_run = argv[2], *to_pins = argv[3];
	long count = strtol(argv[4], NULL, 10);
	char env_pins[512], env_run[512], addr[32];
	char *env[] = { env_pins, env_run, "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	uint64_t *lat, *cmd, *after;
	size_t n = 0, lost = 0, failed = 0;
	struct eg_maps to;

	(void)argc;
	if (count <= 0 || count > 65536 || open_maps(to_pins, &to))
		return 1;
	snprintf(env_pins, sizeof(env_pins), "%s=%s", EG_PIN_DIR_ENV, from_pins);
	snprintf(env_run, sizeof(env_run), "EDGEGUARD_RUN_DIR=%s", from_run);
	lat = calloc((size_t)count, sizeof(*lat));
	cmd = calloc((size_t)count, sizeof(*cmd));
	after = calloc((size_t)count, sizeof(*after));
	if (!lat || !cmd || !after)
		return 1;
	for (long i = 0; i < count; i++) {
		struct eg_lpm_key k;
		struct eg_ban b;
		struct eg_err e = { 0 };
		uint64_t t0, t1, t2;

		snprintf(addr, sizeof(addr), "198.19.%ld.%ld", i / 256, i % 256);
		if (eg_parse_cidr(addr, &k, &e))
			return 1;
		t0 = mono_ns();
		if (run_ban(eg, env, addr)) {
			failed++;
			continue;
		}
		t1 = mono_ns();
		for (;;) {
			if (eg_ban_get(&to, &k, EG_ORIGIN_MANUAL, &b) == 1 && b.origin == EG_ORIGIN_FLEET)
				break;
			t2 = mono_ns();
			if (t2 - t0 > WAIT_NS)
				break;
			struct timespec nap = { 0, 20000 };
			nanosleep(&nap, NULL);
		}
		t2 = mono_ns();
		if (t2 - t0 > WAIT_NS) {
			lost++;
			continue;
		}
		lat[n] = t2 - t0;
		cmd[n] = t1 - t0;
		after[n] = t2 - t1;
		n++;
	}
	report("ban command on A", cmd, n);
	report("ban command on A -> C's map", lat, n);
	report("A's answer -> C's map", after, n);
	printf("never arrived within 5 s: %zu; ban command failed: %zu\n", lost, failed);
	free(lat);
	free(cmd);
	free(after);
	return n ? 0 : 1;
}

static int fill(int argc, char **argv)
{
	const char *host = argv[0], *prefix = argv[2];
	long port = strtol(argv[1], NULL, 10), count = strtol(argv[3], NULL, 10);
	struct timeval tv = { 5, 0 };
	redisContext *c;
	long pending = 0;

	(void)argc;
	if (count <= 0 || count > 131072)
		return 1;
	c = redisConnectWithTimeout(host, (int)port, tv);
	if (!c || c->err) {
		fprintf(stderr, "fleet_bench: connecting to %s:%ld: %s\n", host, port,
			c ? c->errstr : "out of memory");
		return 1;
	}
	redisSetTimeout(c, tv);
	for (long i = 0; i < count; i++) {
		struct eg_fleet_msg m = { .op = EG_FLEET_BAN, .ttl_s = 3600, .origin = EG_ORIGIN_MANUAL,
					  .ts_ms = eg_wall_ns() / 1000000 };
		char addr[32], key[EG_FLEET_MAX_KEY], *text;
		struct eg_err e = { 0 };
		long j = i / 2;

		if (i % 2)
			snprintf(addr, sizeof(addr), "11.%ld.%ld.0/24", j / 256, j % 256);
		else
			snprintf(addr, sizeof(addr), "198.%ld.%ld.%ld", 18 + j / 65536, (j / 256) % 256,
				 j % 256);
		if (eg_parse_cidr(addr, &m.key, &e))
			return 1;
		snprintf(m.host, sizeof(m.host), "bench-src");
		snprintf(m.reason, sizeof(m.reason), "bench %ld", i);
		text = eg_fleet_msg_format(&m);
		if (!text)
			return 1;
		eg_fleet_key(prefix, EG_FLEET_KEY_BAN, &m.key, key, sizeof(key));
		redisAppendCommand(c, "SET %s %s EX 3600", key, text);
		free(text);
		if (++pending == 1000 || i + 1 == count) {
			while (pending--) {
				redisReply *r = NULL;

				if (redisGetReply(c, (void **)&r) != REDIS_OK || r->type == REDIS_REPLY_ERROR) {
					fprintf(stderr, "fleet_bench: SET failed\n");
					return 1;
				}
				freeReplyObject(r);
			}
			pending = 0;
		}
	}
	redisFree(c);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 7 && !strcmp(argv[1], "latency"))
		return latency(argc - 2, argv + 2);
	if (argc == 6 && !strcmp(argv[1], "fill"))
		return fill(argc - 2, argv + 2);
	fprintf(stderr, "usage: fleet_bench latency EDGEGUARD FROM-PINS FROM-RUN TO-PINS COUNT\n"
			"       fleet_bench fill HOST PORT PREFIX COUNT\n");
	return 2;
}
