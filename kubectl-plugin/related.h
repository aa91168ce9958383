/* related.h - the objects related to a Kratix resource (or a Promise), as one
 * tree: its Promise and the PromiseRevision it is bound to, its pipelines
 * (Jobs, Pods, containers), the Works they wrote, each Work's WorkPlacements
 * and their Destinations, each with a status. Pure code over API objects (no
 * I/O): `kubectl kstatus trace` prints the tree, `describe` its Placement
 * section. The model (docs/BEHAVIOUR.md §8):
 *
 *   trace:  {apiVersion: "kstatus.syntasso.io/v1", kind: "Trace", status, output: bool,
 *            root: node, failing: [{path: ["Kind/name", ...], status, reason, message}]}
 *   node:   {kind, name, namespace, status: Ready|InProgress|Failed|Suspended|Misplaced,
 *            reason, message, created, age, generation, observedGeneration, uid, id,
 *            children: [node]}
 *
 * Kinds: the resource's own kind, Promise, PromiseRevision, Pipeline, Job, Pod,
 * Container, Work, WorkPlacement, Destination. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

/* What the tree is built from: the LISTs (List objects, or NULL when the kind
 * is not served), all borrowed. */
struct related_input {
        const json_t *object;       /* the resource, or a Promise for a promise workflow */
        const json_t *promise;      /* the resource's Promise, or NULL */
        const json_t *revision;     /* the PromiseRevision the resource is bound to, or NULL */
        const char *version;        /* the version its ResourceBinding names, or NULL */
        const json_t *jobs, *pods;  /* pipeline Jobs and Pods (kratix.io labels) */
        const json_t *works;        /* Works (kratix.io/promise-name, resource-name) */
        const json_t *placements;   /* WorkPlacements of those Works (kratix.io/work) */
        const json_t *destinations; /* Destinations */
        int64_t now;                /* Unix seconds */
};

/* The trace model (new reference). */
json_t *related_trace(const struct related_input *in);

/* describe's Placement section from a trace model: {output: bool,
 * destinations: [{name, status, reason, message, work, placement, misplaced}]}
 * (new reference). */
json_t *related_placement(const json_t *trace);

/* The label selector of the Works of obj (a resource, or a Promise for its
 * promise workflow's Works), unescaped; pipeline_ns: set when the Promise runs
 * its pipelines in another namespace (the Works then carry
 * kratix.io/resource-namespace). New string. */
char *related_work_selector(const json_t *obj, bool is_promise, bool pipeline_ns);
/* The same for pipeline Jobs and Pods. New string. */
char *related_pipeline_selector(const json_t *obj, bool is_promise);
/* "kratix.io/work in (a,b,...)" for the Works of a list, or NULL when there are none; past
 * RELATED_MAX_SET Works (describe -A of many resources), "kratix.io/work": every placement, each
 * matched to its Work by name, so the URL stays short. New string. */
#define RELATED_MAX_SET 50
char *related_placement_selector(const json_t *works);

/* Whether status is a problem that trace calls out (Failed, Misplaced). */
bool related_status_is_problem(const char *status);
