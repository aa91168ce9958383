/* libFuzzer target: status.yaml text → JSON (limits on), then the printers
 * and a round trip through our own YAML output. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "yaml-json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct kstatus_limits lim = KSTATUS_LIMITS_DEFAULT;
        lim.max_nodes = 20000;
        json_t *v = NULL;
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        if (kstatus_yaml_parse((const char *)data, size, &lim, &v, &err) < 0) {
                if (!err.message || !err.message[0])
                        abort(); /* every error must say what went wrong */
                return 0;
        }
        (void)kstatus_status_validate(v, &err);
        char *y = NULL;
        /* Parsed text is UTF-8, which the emitter always accepts. */
        if (kstatus_yaml_dump(v, &y, &err) < 0)
                abort();
        char *j = kstatus_json_dump(v, true);
        /* What we print must read back as the same value. */
        json_t *back = NULL;
        lim.max_file_bytes = lim.max_result_bytes = 64u << 20;
        lim.max_nodes = 10000000;
        if (kstatus_yaml_parse(y, strlen(y), &lim, &back, &err) < 0 || !json_equal(back, v))
                abort();
        json_decref(back);
        free(y);
        free(j);
        json_decref(v);
        return 0;
}
