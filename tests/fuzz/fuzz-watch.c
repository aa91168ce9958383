/* libFuzzer target: the watch stream decoder (newline-delimited JSON
 * events), fed the way curl feeds it: the input cut into chunks at the
 * positions its first byte chooses. Checks: the same events come out
 * whatever the chunking (compared with one call for the whole input), and a
 * stream ends only for the reasons kube_watch_feed documents. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kube/internal.h"
#include "kube/watch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
        json_t *events;
        int stop_after; /* stop the watch at this event (-1: never) */
};

static int on_event(const char *type, const json_t *object, void *userdata) {
        struct seen *s = userdata;
        if (!type || !json_is_object(object))
                abort();
        json_array_append_new(s->events, json_pack("{s:s, s:O}", "type", type, "object", object));
        if (s->stop_after >= 0 && (int)json_array_size(s->events) > s->stop_after)
                return 7;
        return 0;
}

static json_t *decode(const char *p, size_t n, size_t step, int stop_after) {
        struct seen s = { .events = json_array(), .stop_after = stop_after };
        struct kube_watch *w = kube_watch_decoder_new(on_event, &s);
        for (size_t i = 0; i < n;) {
                size_t take = step && step < n - i ? step : n - i;
                size_t got = kube_watch_feed(w, p + i, take);
                if (got == 0)
                        break;
                if (got != take)
                        abort();
                i += take;
                step = step ? step * 3 % 61 + 1 : 0;
        }
        kube_watch_free(w);
        return s.events;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        size_t step = data[0] % 32;
        int stop_after = data[0] >= 224 ? data[0] % 4 : -1;
        const char *p = (const char *)data + 1;
        json_t *whole = decode(p, size - 1, 0, stop_after);
        json_t *chunked = decode(p, size - 1, step, stop_after);
        if (!json_equal(whole, chunked))
                abort();
        json_decref(whole);
        json_decref(chunked);
        return 0;
}
