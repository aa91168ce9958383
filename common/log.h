/* log.h - one line per event, for the programs (never called from library
 * code). Text: "2026-11-25T10:00:00Z info push: sent 2 keys". JSON (one
 * object per line): {"time":…,"level":"info","event":"push","msg":"sent 2 keys"}.
 * Nothing that could hold a credential is ever passed here. */
#pragma once

#include <stdbool.h>

#include "util.h"

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARNING, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

void log_setup(enum log_format format, enum log_level max_level);
int log_format_from_string(const char *s, enum log_format *ret);

/* Log one event; control characters in the message are escaped so one event
 * is always one line. Returns `code` negated when positive (log-and-return). */
int log_event(enum log_level level, int code, const char *event, const char *fmt, ...) _printf_(4, 5);

#define log_error(event, ...) log_event(LOG_LEVEL_ERROR, 0, event, __VA_ARGS__)
#define log_warning(event, ...) log_event(LOG_LEVEL_WARNING, 0, event, __VA_ARGS__)
#define log_info(event, ...) log_event(LOG_LEVEL_INFO, 0, event, __VA_ARGS__)
#define log_debug(event, ...) log_event(LOG_LEVEL_DEBUG, 0, event, __VA_ARGS__)
#define log_error_errno(code, event, ...) log_event(LOG_LEVEL_ERROR, code, event, __VA_ARGS__)
