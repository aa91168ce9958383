/* libFuzzer target: an exec credential plugin's stdout
 * (client.authentication.k8s.io ExecCredential), decoded as client-go does.
 * Input: a selector byte (which apiVersion the kubeconfig asks for), then the
 * output. Checks: a failure says why and leaves no credential; a success
 * holds a token or a certificate and key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        struct kube_exec_config x = {
                .api_version = data[0] % 2 ? (char *)"client.authentication.k8s.io/v1" : NULL,
                .command = (char *)"fuzz-plugin",
        };
        size_t len = size - 1;
        char *out = malloc(len + 1);
        memcpy(out, data + 1, len);
        out[len] = '\0';
        struct kube_exec_cred cred = { 0 };
        _cleanup_(kstatus_error_done) struct kstatus_error err = { 0 };
        int r = kube_exec_cred_parse(&x, out, len, &cred, &err);
        if (r < 0) {
                if (!err.message || !err.message[0] || cred.valid || cred.token || cred.cert || cred.key)
                        abort();
        } else {
                if (r != 1 || !cred.valid || (!cred.token && !(cred.cert && cred.key)))
                        abort();
                if (cred.expires_s < 0)
                        abort();
        }
        /* The output is wiped once parsed: secrets do not linger. */
        for (size_t i = 0; i < len; i++)
                if (out[i])
                        abort();
        kube_exec_cred_clear(&cred);
        free(out);
        return 0;
}
