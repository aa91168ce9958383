/* options.h - what both modes of kstatus-sidecar (the pipeline sidecar in
 * main.c, the health controller in health.c) use to read their flags. */
#pragma once

#include <stdint.h>

#include "util.h"

/* Replace *dst with a copy of v (NULL clears it). */
void set_str(char **dst, const char *v);

/* "error: <message>" on stderr, one line; returns -EINVAL. */
int config_error(const char *fmt, ...) _printf_(1, 2);

/* Parse --flag's duration (500ms, 2s, …); prints kubectl's wording and returns -EINVAL when invalid. */
int parse_duration_arg(const char *flag, const char *v, int64_t *ret);
