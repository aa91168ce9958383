#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static enum log_format log_fmt = LOG_FORMAT_TEXT;
static enum log_level log_max = LOG_LEVEL_INFO;

void log_setup(enum log_format format, enum log_level max_level) {
        log_fmt = format;
        log_max = max_level;
}

int log_format_from_string(const char *s, enum log_format *ret) {
        if (strcmp(s, "text") == 0)
                *ret = LOG_FORMAT_TEXT;
        else if (strcmp(s, "json") == 0)
                *ret = LOG_FORMAT_JSON;
        else
                return -EINVAL;
        return 0;
}

static const char *level_name(enum log_level l) {
        switch (l) {
        case LOG_LEVEL_ERROR:
                return "error";
        case LOG_LEVEL_WARNING:
                return "warning";
        case LOG_LEVEL_INFO:
                return "info";
        default:
                return "debug";
        }
}

int log_event(enum log_level level, int code, const char *event, const char *fmt, ...) {
        int ret = code > 0 ? -code : code;
        if (level > log_max)
                return ret;

        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *msg = xvasprintf(fmt, ap);
        va_end(ap);

        struct timeval tv;
        gettimeofday(&tv, NULL);
        struct tm tm;
        gmtime_r(&tv.tv_sec, &tm);
        char ts[40];
        size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(ts + n, sizeof(ts) - n, ".%03ldZ", (long)(tv.tv_usec / 1000));

        /* The whole line is built first and written with one write(2): stderr is
         * unbuffered, and lines from several processes sharing it must not mix. */
        char *line = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&line, &len);
        if (!f)
                return ret;
        if (log_fmt == LOG_FORMAT_JSON) {
                json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "time", ts, "level", level_name(level), "event", event,
                                      "msg", msg);
                if (!o || json_dumpf(o, f, JSON_COMPACT | JSON_ENSURE_ASCII) < 0) {
                        json_decref(o);
                        fclose(f);
                        free(line);
                        return ret;
                }
                json_decref(o);
        } else {
                /* One event, one line, and nothing that drives a terminal
                 * (kubectl logs prints lines raw): controls, C1, bidi and
                 * invisible characters escaped as everywhere else. */
                _cleanup_free_ char *safe = kstatus_escape_terminal(msg);
                fprintf(f, "%s %s %s: %s", ts, level_name(level), event, safe);
        }
        fputc('\n', f);
        if (fclose(f) == 0)
                fwrite(line, 1, len, stderr);
        free(line);
        fflush(stderr);
        return ret;
}
