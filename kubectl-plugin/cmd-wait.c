#include "kube-args.h"
const char wait_usage[] = "wait\n";
int cmd_wait(int argc, char **argv) { (void)argc; (void)argv; return EXIT_USAGE; }
