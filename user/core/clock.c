// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <time.h>
#include "../bpf/edgeguard.h"
#include "clock.h"

static int64_t read_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * (int64_t)EG_NS_PER_S + ts.tv_nsec;
}

uint64_t eg_now_ns(void)
{
	return (uint64_t)read_ns(CLOCK_BOOTTIME);
}

uint64_t eg_mono_ms(void)
{
	return (uint64_t)read_ns(CLOCK_MONOTONIC) / 1000000;
}

int64_t eg_wall_ns(void)
{
	return read_ns(CLOCK_REALTIME);
}

uint64_t eg_secs_left(uint64_t expires_ns, uint64_t now_ns)
{
	return expires_ns > now_ns ? (expires_ns - now_ns + EG_NS_PER_S - 1) / EG_NS_PER_S : 0;
}

int64_t eg_boot_to_wall_ns(uint64_t boot_ns)
{
	return eg_wall_ns() + ((int64_t)boot_ns - (int64_t)eg_now_ns());
}
