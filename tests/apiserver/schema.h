/* schema.h - a CRD version's structural schema applied to custom resources
 * as kube-apiserver applies it: pruning, then validation (schema.c). */
#pragma once

#include <jansson.h>

/* Decode obj as kube-apiserver does (in place): drop unknown fields outside
 * x-kubernetes-preserve-unknown-fields, then nulls the schema does not allow
 * (unless defaulted), then set defaults. The root's apiVersion, kind and
 * metadata stay. */
void schema_prune(const json_t *schema, json_t *obj);

/* Validate obj against the schema; old (may be NULL) is the object it
 * replaces: values equal to old's are not validated again (ratcheting).
 * Returns NULL when valid, else a new array of Status causes
 * ({reason, message, field}) worded as kube-apiserver's field errors. */
json_t *schema_validate(const json_t *schema, const json_t *obj, const json_t *old);

/* The causes as kube-apiserver's Status message aggregates them ("f: msg"
 * or "[f: a, g: b]"). New string. */
char *schema_causes_message(const json_t *causes);
