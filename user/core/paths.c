// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdlib.h>
#include "paths.h"

static const char *from_env(const char *name, const char *fallback)
{
	const char *d = getenv(name);

	return d && *d ? d : fallback;
}

const char *eg_pin_dir(void)
{
	return from_env(EG_PIN_DIR_ENV, from_env(EG_PIN_DIR_ENV_ALIAS, EG_PIN_DIR_DEFAULT));
}

const char *eg_run_dir(void)
{
	return from_env(EG_RUN_DIR_ENV, EG_RUN_DIR_DEFAULT);
}
