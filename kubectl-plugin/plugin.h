/* plugin.h - what the kubectl-kstatus commands share: the command table entry,
 * exit codes, error reporting and the status-file limits flags. */
#pragma once

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "util.h"
#include "yaml-json.h"

/* Exit codes (docs/BEHAVIOUR.md §8): kubectl lumps these into 1, we tell them apart. */
enum {
        EXIT_MET = 0,
        EXIT_FAILED = 1, /* invalid input, timed out */
        EXIT_USAGE = 2,
        EXIT_WORKFLOW_FAILED = 3,
        EXIT_API = 4,
};

struct plugin_command {
        const char *name;
        const char *summary;
        int (*run)(int argc, char **argv); /* argv[0] is the command name */
        const char *usage;                 /* full --help text */
};


/* "error: <message>" on stderr, one line; returns EXIT_USAGE. */
int usage_error(const char *fmt, ...) _printf_(1, 2);
/* "error: <message>" on stderr, one line; returns EXIT_FAILED. */
int fail(const char *fmt, ...) _printf_(1, 2);

/* Flags as kubectl (spf13/pflag) parses them, over a command's getopt_long
 * tables (flags.c): `-n NS`, `-nNS`, `-n=NS`, `--flag=value`, `--flag value`,
 * flags after positional arguments, `--` ends the flags, kubectl's `-v=N`
 * accepted and ignored. A no_argument or optional_argument option is a
 * boolean: `--flag`, `--flag=false`, `-A=0`; its optarg is "true" or "false"
 * (test it with flag_true(optarg)). Like getopt_long, flags_next() sets
 * optarg and returns the option's val; at the end it returns -1 with the
 * positional arguments moved, in order, to argv[optind..argc-1]. On a mistake
 * it prints kubectl's two lines ("Error: unknown flag: --x", "See 'kubectl
 * kstatus CMD --help' for usage.") and returns '?'. Start with a zeroed
 * struct flags; free with flags_done(). */
struct flags {
        int argc;
        char **argv;
        const char *shortopts;
        const struct option *longopts;
        int next;            /* next argv index */
        const char *cluster; /* the rest of a shorthand group (-Ao) */
        int *args;           /* argv indices of positional arguments */
        int n_args;
};
int flags_next(struct flags *f, int argc, char **argv, const char *shortopts, const struct option *longopts);
void flags_done(struct flags *f);
/* A flag's value refused while flags_next() reads the command's flags, in
 * kubectl's two lines ("Error: invalid argument \"x\" for \"--vmodule\" flag:
 * …", "See 'kubectl kstatus CMD --help' for usage."); fmt's text is escaped.
 * Returns '?'. */
int flag_value_error(const char *fmt, ...) _printf_(1, 2);
/* A boolean flag's optarg: true unless "false". */
bool flag_true(const char *arg);
/* Go's strconv.ParseBool: 0 or -EINVAL. */
int flag_parse_bool(const char *s, bool *ret);

/* Output formats a command accepts. */
enum output_format { OUTPUT_DEFAULT, OUTPUT_JSON, OUTPUT_YAML };
int parse_output_format(const char *s, bool allow_yaml, enum output_format *ret);
/* kubectl's message for an -o value we do not print, naming the allowed
 * ones ("json,yaml"); returns EXIT_USAGE. */
int printer_error(const char *s, const char *allowed);
/* printer_error() for the commands that print json and yaml. */
int output_format_error(const char *s);
/* -o for the commands that print wide, json or yaml (describe, trace): 0, or
 * printer_error()'s EXIT_USAGE. */
int parse_output_wide(const char *s, bool *wide, enum output_format *format);

/* The status-file limit flags lint and merge share (docs/BEHAVIOUR.md §2). */
#define LIMIT_OPTIONS                                                   \
        { "max-file-size", required_argument, NULL, 1001 },            \
        { "max-depth", required_argument, NULL, 1002 },                \
        { "max-nodes", required_argument, NULL, 1003 },                \
        { "max-status-size", required_argument, NULL, 1004 },          \
        { "max-status-memory", required_argument, NULL, 1005 }
#define LIMIT_USAGE                                                                      \
        "      --max-file-size=SIZE     refuse files larger than SIZE (default 1Mi)\n"    \
        "      --max-depth=N            refuse nesting deeper than N (default 64)\n"      \
        "      --max-nodes=N            refuse more than N nodes after alias expansion (default 100000)\n" \
        "      --max-status-size=SIZE   refuse a status larger than SIZE as JSON (default 1Mi)\n" \
        "      --max-status-memory=SIZE refuse a status taking more than SIZE of memory once parsed (default 12Mi)\n"
/* Handle one of the LIMIT_OPTIONS; returns 1 if it was one, 0 if not, -1 (after printing) if invalid. */
int parse_limit_option(int opt, const char *arg, struct kstatus_limits *lim);

/* fflush(stdout), remembering why it failed for the error main() prints
 * when it closes stdout (git's check_write): returns 0 or -errno. */
int flush_stdout(void);

/* Print a JSON value in the chosen format to stdout; returns 0, or EXIT_FAILED
 * after printing the error when the YAML emitter refuses the value. */
int print_json_value(const json_t *value, enum output_format format);

/* Read and parse FILE ("-" for stdin) as a mapping; prints the error and returns <0 on failure. */
int load_document(const char *path, const struct kstatus_limits *lim, bool validate_status, json_t **ret);

/* kstatus_escape_terminal(): text from a status cannot drive the terminal. */
char *escape_for_terminal(const char *s);

int cmd_complete(int argc, char **argv, const char *const *commands);
int cmd_completion(int argc, char **argv);
int cmd_describe(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_inject(int argc, char **argv);
int cmd_lint(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_wait(int argc, char **argv);

extern const char completion_usage[];
extern const char describe_usage[];
extern const char get_usage[];
extern const char inject_usage[];
extern const char lint_usage[];
extern const char logs_usage[];
extern const char merge_usage[];
extern const char trace_usage[];
extern const char version_usage[];
extern const char wait_usage[];

/* Columns of text as kubectl prints them: left-aligned, two spaces apart, the
 * last column not padded. Cells are escaped on the way in. When the terminal
 * is narrower than the table, the `shrink` column is cut ("...") to fit,
 * never below 10 characters; `wide` never cuts. */
struct text_table {
        size_t cols, rows;
        char **cells;        /* rows * cols, escaped */
        const char **colors; /* rows * cols, NULL: none */
        size_t shrink;       /* (size_t)-1: none */
        size_t *width;       /* computed by text_table_layout */
};

void text_table_init(struct text_table *t, size_t cols, size_t shrink);
/* colors may be NULL. */
void text_table_add(struct text_table *t, const char *const *cells, const char *const *colors);
/* Fix column widths for a terminal of term_width columns (0: unlimited). */
void text_table_layout(struct text_table *t, int term_width, bool wide);
/* Print row r with the layout's widths (a row added after the layout is fitted to them). */
void text_table_print_row(FILE *out, const struct text_table *t, size_t r, bool color);
/* Layout and print every row; returns the number of lines printed. */
size_t text_table_print(FILE *out, struct text_table *t, int term_width, bool wide, bool color);
void text_table_done(struct text_table *t);
/* Display width of an escaped string (code points). */
size_t text_width(const char *s);
