/* libFuzzer target: an error answer from the server, formatted as kubectl
 * formats it (kube_format_server_error). Input: two bytes of HTTP status
 * (mapped into 100..599), then the body. Checks: there is always a message
 * and it is one line of valid text; the reason, when set, is not empty. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 2)
                return 0;
        int code = 100 + ((data[0] << 8) | data[1]) % 500;
        const char *body = (const char *)data + 2;
        size_t len = size - 2;
        /* The body as curl hands it: NUL-terminated after len bytes. */
        char *copy = malloc(len + 1);
        memcpy(copy, body, len);
        copy[len] = '\0';
        char *reason = NULL;
        char *msg = kube_format_server_error(code, copy, len, &reason);
        if (!msg || !*msg)
                abort();
        if (reason && !*reason)
                abort();
        free(msg);
        free(reason);
        msg = kube_format_server_error(code, len ? copy : NULL, len, NULL);
        if (!msg)
                abort();
        free(msg);
        free(copy);
        return 0;
}
