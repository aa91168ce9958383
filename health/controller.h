/* controller.h - `kstatus-sidecar health`: a small controller that reflects
 * HealthRecords on the resources they name (docs/BEHAVIOUR.md §7). It lists
 * and watches HealthRecords, resolves each record's Promise to its resource
 * type, and merge-patches the seed's status.healthRecord (and, with
 * --health-status, Kratix's status.healthStatus {state, healthRecords}) only
 * when they differ from what the records say (common/health.c decides what).
 *
 * The pure projection is common/health.h; this folder is the program:
 *   main.c       flags, set-up and tear-down
 *   loop.c       the epoll loop: list, watch, resync and retry timers
 *   lease.c      leader election (--leader-elect): a coordination.k8s.io Lease
 *   records.c    the HealthRecords kept in memory, reports and Events
 *   promises.c   the Promise cache: a Promise's resource type
 *   reconcile.c  reading and writing one resource, and every dirty one */
#pragma once

/* Run the controller: argv[0] is "health". Returns the exit code: 0 after
 * SIGTERM/SIGINT, 2 on a usage or configuration error. */
int health_main(int argc, char **argv);
