// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <sys/utsname.h>
#include "kernel.h"
#include "version.h"

int eg_kernel_check(const char *release, struct eg_err *e)
{
	unsigned int major, minor;

	if (!release || sscanf(release, "%u.%u", &major, &minor) != 2)
		return eg_fail_code(e, EINVAL, "cannot tell the kernel version from '%s'",
				    release ? release : "");
	if (major > EG_KERNEL_MIN_MAJOR ||
	    (major == EG_KERNEL_MIN_MAJOR && minor >= EG_KERNEL_MIN_MINOR))
		return 0;
	return eg_fail_code(e, ENOTSUP,
			    "this kernel is Linux %s; edgeguard needs Linux %u.%u or later (bpf_timer, for the flow idle timers)",
			    release, EG_KERNEL_MIN_MAJOR, EG_KERNEL_MIN_MINOR);
}

int eg_kernel_check_running(struct eg_err *e)
{
	struct utsname u;

	if (uname(&u))
		return eg_fail_errno(e, errno, "uname");
	return eg_kernel_check(u.release, e);
}
