/* Flags as kubectl's pflag reads them (kubectl-plugin/flags.c). The expected
 * readings are pflag's, written down from spf13/pflag's parseArgs and checked
 * against kubectl 1.32 (tests/integration/plugin-parity.sh runs both). */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <string.h>

#include "plugin.h"

static const struct option options[] = {
        { "namespace", required_argument, NULL, 'n' },
        { "all-namespaces", no_argument, NULL, 'A' },
        { "output", required_argument, NULL, 'o' },
        { "insecure-skip-tls-verify", optional_argument, NULL, 2005 },
        { "for", required_argument, NULL, 3000 },
        {},
};

/* Parse the words (a NULL-terminated list after the command name) and write
 * what was read as "n=NS A=true 3000=x | pos1 pos2", or "?" on a mistake. */
static char *reading(const char *const *words) {
        char *argv[32] = { (char *)"get" };
        int argc = 1;
        for (; words[argc - 1]; argc++)
                argv[argc] = (char *)words[argc - 1];
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        struct flags fl = { 0 };
        int c;
        while ((c = flags_next(&fl, argc, argv, "n:Ao:", options)) >= 0) {
                if (c == '?') {
                        fputs("?", f);
                        break;
                }
                if (c < 128)
                        fprintf(f, "%c=%s ", c, optarg ? optarg : "(null)");
                else
                        fprintf(f, "%d=%s ", c, optarg ? optarg : "(null)");
        }
        if (c == -1) {
                fputs("|", f);
                for (int i = optind; i < argc; i++)
                        fprintf(f, " %s", argv[i]);
        }
        flags_done(&fl);
        fclose(f);
        return out;
}

#define READS(want, ...)                                                                \
        do {                                                                            \
                char *_got = reading((const char *const[]){ __VA_ARGS__, NULL });       \
                cr_assert_str_eq(_got, want);                                           \
                free(_got);                                                             \
        } while (0)

Test(flags, values, .init = cr_redirect_stderr) {
        READS("n=team-a | iams", "iams", "-n", "team-a");
        READS("n=team-a | iams", "iams", "-nteam-a");
        READS("n=team-a | iams", "iams", "-n=team-a");
        READS("n==x | iams", "iams", "-n==x");
        READS("n=team-a | iams", "iams", "--namespace", "team-a");
        READS("n=team-a | iams", "iams", "--namespace=team-a");
        READS("n= | iams", "iams", "--namespace=");
        READS("3000=condition=a=b | x", "--for=condition=a=b", "x");
}

Test(flags, booleans, .init = cr_redirect_stderr) {
        READS("A=true |", "-A");
        READS("A=false |", "-A=false");
        READS("A=true |", "-A=1");
        READS("A=false |", "--all-namespaces=F");
        READS("A=true | false", "--all-namespaces", "false");
        READS("2005=true |", "--insecure-skip-tls-verify");
        READS("2005=false |", "--insecure-skip-tls-verify=false");
        READS("?", "-A=maybe");
        READS("?", "--all-namespaces=yes");
}

Test(flags, shorthand_groups, .init = cr_redirect_stderr) {
        READS("A=true o=name | iams", "iams", "-Ao", "name");
        READS("A=true o=name | iams", "iams", "-Aoname");
        READS("A=true ?", "-Aq");
        READS("?", "-n");
}

Test(flags, positionals, .init = cr_redirect_stderr) {
        READS("n=x | a b c", "a", "-n", "x", "b", "c");
        READS("n=x | a -A --for=b", "-n", "x", "--", "a", "-A", "--for=b");
        READS("| -", "-");
        READS("| a", "a", "-v=6");
        READS("| a", "-v", "6", "a");
        READS("| a", "--v=6", "a");
        READS("?", "-v=x");
        READS("?", "-v");
}

Test(flags, mistakes, .init = cr_redirect_stderr) {
        READS("?", "--frob");
        READS("?", "--frob=1");
        READS("?", "---x");
        READS("?", "--=x");
        READS("?", "--namespace");
        READS("?", "-Q");
}

Test(flags, words) {
        cr_redirect_stderr();
        free(reading((const char *const[]){ "-A=maybe", NULL }));
        fflush(stderr);
        cr_assert_stderr_eq_str("Error: invalid argument \"maybe\" for \"-A, --all-namespaces\" flag: strconv.ParseBool: "
                                "parsing \"maybe\": invalid syntax\nSee 'kubectl kstatus get --help' for usage.\n");
}
