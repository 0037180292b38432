// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The minimum kernel (user/datapath/kernel.h): 5.15 and later pass, older
 * ones are refused with a line naming both versions and why, and a release
 * string that is no version is refused as such. The running kernel passes
 * (the suite could not run otherwise).
 */
#include <errno.h>
#include "kernel.h"
#include "testlib.h"

static void accepts(const char *release)
{
	struct eg_err e = { 0 };

	CHECK(eg_kernel_check(release, &e) == 0, "'%s' refused: %s", release, e.msg);
}

static void refuses(const char *release, int code, const char *msg_part)
{
	struct eg_err e = { 0 };

	CHECK(eg_kernel_check(release, &e) == -1, "'%s' accepted", release);
	CHECK(e.code == code, "'%s': code %d, want %d", release, e.code, code);
	CHECK(strstr(e.msg, msg_part) != NULL, "'%s': message '%s' lacks '%s'", release, e.msg,
	      msg_part);
}

static void new_enough_kernels_pass(void)
{
	accepts("5.15.0");
	accepts("5.15.0-91-generic");
	accepts("5.16");
	accepts("6.1.0-18-amd64");
	accepts("6.18.44-fc-v1252");
	accepts("10.0.0");
}

static void old_kernels_are_refused_with_both_versions(void)
{
	refuses("5.14.21-150400.24-default", ENOTSUP, "Linux 5.14.21-150400.24-default");
	refuses("5.10.0-28-amd64", ENOTSUP, "needs Linux 5.15 or later (bpf_timer");
	refuses("4.19.0", ENOTSUP, "needs Linux 5.15 or later");
	refuses("3.99", ENOTSUP, "needs Linux 5.15");
}

static void garbage_is_not_a_version(void)
{
	refuses("", EINVAL, "cannot tell the kernel version from ''");
	refuses("linux", EINVAL, "from 'linux'");
	refuses("6", EINVAL, "from '6'");
	refuses(NULL, EINVAL, "cannot tell");
}

static void the_running_kernel_passes(void)
{
	struct eg_err e = { 0 };

	CHECK(eg_kernel_check_running(&e) == 0, "refused: %s", e.msg);
}

int main(void)
{
	RUN(new_enough_kernels_pass);
	RUN(old_kernels_are_refused_with_both_versions);
	RUN(garbage_is_not_a_version);
	RUN(the_running_kernel_passes);
	return tl_exit_code();
}
