/* health.h - `kstatus-sidecar health`: a small controller that reflects
 * HealthRecords on the resources they name (docs/BEHAVIOUR.md §7). It lists and
 * watches HealthRecords, resolves each record's Promise to its resource
 * type, and merge-patches the resource's status.healthStatus {state,
 * healthRecords} and the seed's status.healthRecord only when they differ
 * from what the records say (common/health.c decides what), with an Event
 * on the resource when the aggregate state changes. */
#pragma once

/* Run the controller: argv[0] is "health". Returns the exit code: 0 after
 * SIGTERM/SIGINT, 2 on a usage or configuration error. */
int health_main(int argc, char **argv);
