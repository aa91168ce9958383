/* describe.h - `kubectl kstatus describe`: one model of what is known about
 * a resource (built from API objects, no I/O), rendered as text or printed as
 * JSON/YAML for scripts. The model is the stable, documented structure:
 *
 *   {kind, apiVersion, name, namespace, created, age, generation, observedGeneration, stale,
 *    message, workflow: {action, state: Completed|InProgress|Suspended|Failed|Unknown, since, pipeline, text},
 *    suspended: {label, pipeline, message, attempts, nextRetryAt, nextRetryIn}   (only when suspended),
 *    conditions: [{type, status, reason, message, lastTransitionTime, age}],
 *    health: {state, source: status|records|none, records: [{source, state, lastRun, details}],
 *             healthRecord: {state, lastRun, lastRunAge}   (the seed's form, beside healthStatus)},
 *    pipelines: [{name, phase, lastTransitionTime, age, message, attempts, nextRetryAt, nextRetryIn}]
 *               (Kratix's status.kratix.workflows.pipelines),
 *    status: {the rest of .status},
 *    related: [{kind, name, state, age, failed, reason}],
 *    placement: {output: bool, destinations: [{name, status, destinationStatus, reason, message, work,
 *                placement, misplaced}]}   (related.h's related_placement; when Works were looked for),
 *    events: [{type, reason, age, count, from, message}]}
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

struct describe_input {
        const json_t *object;  /* the resource (borrowed) */
        const json_t *records; /* live HealthRecords (array or NULL) */
        const json_t *related; /* Jobs and Pods found by kratix.io labels (array or NULL) */
        const json_t *events;  /* core/v1 Events about the object (array or NULL) */
        const json_t *placement; /* related_placement() of the object, or NULL when not looked for */
        int64_t now;           /* Unix seconds */
};

struct render_options {
        bool color;
        bool absolute_time;
        bool wide;  /* never cut */
        int width;  /* terminal width, 0 when not a terminal */
};

/* kubectl's duration.HumanDuration ("5m", "2d3h", …). */
void human_duration(int64_t seconds, char buf[static 32]);

/* The workflow verdict of a status: {action, state, since, pipeline, text} (new reference). */
json_t *describe_workflow(const json_t *status, int64_t now);

/* The model (new reference). */
json_t *describe_model(const struct describe_input *in);

/* Render the model as text. */
void describe_render(FILE *out, const json_t *model, const struct render_options *opts);
