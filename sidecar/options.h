/* options.h - what both modes of kstatus-sidecar (the pipeline sidecar in
 * main.c, the health controller in health/) use to read their flags. */
#pragma once

#include <getopt.h>
#include <stdint.h>

#include "log.h"
#include "util.h"

/* Replace *dst with a copy of v (NULL clears it). */
void set_str(char **dst, const char *v);

/* "error: <message>" on stderr, one line; returns -EINVAL. */
int config_error(const char *fmt, ...) _printf_(1, 2);

/* Parse --flag's duration (500ms, 2s, …); prints kubectl's wording and returns -EINVAL when invalid. */
int parse_duration_arg(const char *flag, const char *v, int64_t *ret);

/* The flags both modes take to reach the API server and to log, for a
 * getopt_long table (-v is the short form of --verbose), and what they set. */
enum { OPT_KUBECONFIG = 0x1000, OPT_CONTEXT, OPT_REQUEST_TIMEOUT, OPT_LOG_FORMAT };
#define CONNECTION_LONG_OPTIONS                                                  \
        { "kubeconfig", required_argument, NULL, OPT_KUBECONFIG },             \
        { "context", required_argument, NULL, OPT_CONTEXT },                   \
        { "request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT },   \
        { "log-format", required_argument, NULL, OPT_LOG_FORMAT },             \
        { "verbose", no_argument, NULL, 'v' }

struct connection_flags {
        char *kubeconfig, *context; /* NULL: as kubectl finds them */
        int64_t request_timeout_ms;
        enum log_format log_format;
        enum log_level log_level;
};

/* Take flag c (a getopt_long result) when it is one of CONNECTION_LONG_OPTIONS:
 * 0, or -EINVAL on a bad value (printed); 1 when c is none of them. */
int connection_flag(struct connection_flags *f, int c, const char *arg);
void connection_flags_done(struct connection_flags *f);
