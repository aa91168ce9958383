/* options.c - flag helpers shared by the sidecar and the health controller. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "options.h"

void set_str(char **dst, const char *v) {
        free(*dst);
        *dst = v ? xstrdup(v) : NULL;
}

int config_error(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fputs("error: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        return -EINVAL;
}

int parse_duration_arg(const char *flag, const char *v, int64_t *ret) {
        if (parse_duration_ms(v, ret) < 0)
                return config_error("invalid argument \"%s\" for \"--%s\": want a duration such as 500ms or 2s", v,
                                    flag);
        return 0;
}
