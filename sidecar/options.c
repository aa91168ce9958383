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

int connection_flag(struct connection_flags *f, int c, const char *arg) {
        switch (c) {
        case OPT_KUBECONFIG: set_str(&f->kubeconfig, arg); return 0;
        case OPT_CONTEXT: set_str(&f->context, arg); return 0;
        case OPT_REQUEST_TIMEOUT: return parse_duration_arg("request-timeout", arg, &f->request_timeout_ms);
        case OPT_LOG_FORMAT:
                if (log_format_from_string(arg, &f->log_format) < 0)
                        return config_error("invalid argument \"%s\" for \"--log-format\": want text or json", arg);
                return 0;
        case 'v': f->log_level = LOG_LEVEL_DEBUG; return 0;
        default: return 1;
        }
}

void connection_flags_done(struct connection_flags *f) {
        free(f->kubeconfig);
        free(f->context);
}
