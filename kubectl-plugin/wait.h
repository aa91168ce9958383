/* wait.h - `kubectl kstatus wait` predicates, as pure functions on objects. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

enum wait_kind { WAIT_CONDITION, WAIT_HEALTH, WAIT_MESSAGE, WAIT_DELETE, WAIT_CREATE, WAIT_JSONPATH };

struct jsonpath;

struct wait_for {
        enum wait_kind kind;
        char *name;  /* condition type */
        char *value; /* condition status (default "True"), health state, message text, JSONPath value (NULL: exists) */
        struct jsonpath *jp; /* WAIT_JSONPATH */
};

/* Parse one --for value: condition=X[=value], health=STATE, message=TEXT, delete, create,
 * jsonpath='{.a.b}'[=VALUE] (split at single "=" as kubectl 1.32 does, "==" kept
 * for filters; the expression relaxed as in custom-columns).
 * Returns 0 or -EINVAL with a kubectl-style message in err (err_size bytes). */
int wait_for_parse(const char *spec, struct wait_for *ret, char *err, size_t err_size);
void wait_for_clear(struct wait_for *w);

/* Is `w` met by `obj` (NULL: the object does not exist)? A condition's type
 * matches case-insensitively and the first match decides, as kubectl wait's
 * (its status too is compared without case). A JSONPath is met as kubectl's:
 * one value found, printed as Go prints it, equal to VALUE after trimming
 * spaces (or, without VALUE, found at all); more than one value, or a map or
 * list, is not met. A condition counts
 * only when the resource's status.observedGeneration (Kratix's, top level), if
 * set, equals metadata.generation; a per-condition observedGeneration is not
 * read (Kratix's generated schema prunes it). */
bool wait_for_met(const struct wait_for *w, const json_t *obj);

/* Did the workflow fail (ConfigureWorkflowCompleted False/ConfigureWorkflowFailed,
 * or DeleteWorkflowCompleted False/DeleteWorkflowFailed)? Sets *pipeline (borrowed) when known. */
bool wait_workflow_failed(const json_t *obj, const char **ret_message);
