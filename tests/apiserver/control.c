/* control.c - the control API under /_kstatus/: faults, counters, outages, logs. */
#include <string.h>

#include "api-internal.h"

/* ---- control endpoint ---- */

void do_control(const char *method, const char *what, const char *body, size_t len, struct reply *out) {
        json_error_t e;
        if (strcmp(what, "faults") == 0) {
                if (strcmp(method, "GET") == 0) {
                        reply_json(out, 200, json_pack("{s:o}", "faults", faults_list()));
                } else if (strcmp(method, "DELETE") == 0) {
                        faults_clear();
                        reply_json(out, 200, json_pack("{s:o}", "faults", faults_list()));
                } else if (strcmp(method, "POST") == 0) {
                        _cleanup_json_ json_t *spec = body ? json_loadb(body, len, 0, &e) : NULL;
                        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
                        if (!spec || faults_add(spec, &err) < 0)
                                reply_status(out, 400, NULL, NULL, "%s", spec ? err.message : "invalid JSON body");
                        else
                                reply_json(out, 200, json_pack("{s:o}", "faults", faults_list()));
                } else
                        reply_status(out, 405, NULL, NULL, "use GET, POST or DELETE");
                return;
        }
        if (strcmp(what, "counters") == 0) {
                if (strcmp(method, "DELETE") == 0)
                        counters_reset();
                reply_json(out, 200, counters_get());
                return;
        }
        if (strcmp(what, "outage") == 0 && strcmp(method, "POST") == 0) {
                _cleanup_json_ json_t *spec = body ? json_loadb(body, len, 0, &e) : NULL;
                json_t *s = json_object_get(spec, "seconds");
                if (!json_is_number(s) || json_number_value(s) < 0 || json_number_value(s) > 3600) {
                        reply_status(out, 400, NULL, NULL, "outage needs {\"seconds\": N} with 0 <= N <= 3600");
                        return;
                }
                /* Reply first: the outage starts once this answer is out (see main.c). */
                outage_start((int64_t)(json_number_value(s) * 1000));
                reply_json(out, 200, json_pack("{s:f}", "seconds", json_number_value(s)));
                return;
        }
        if (strcmp(what, "headers") == 0) {
                if (strcmp(method, "DELETE") == 0)
                        headers_reset();
                reply_json(out, 200, headers_get());
                return;
        }
        if (strcmp(what, "logs") == 0) {
                logs_control(method, body, len, out);
                return;
        }
        reply_status(out, 404, NULL, NULL, "unknown control endpoint \"%s\"", what);
}
