/* hostile-http - a plain HTTP/1.1 server on loopback that answers every
 * request with one hostile body, for the client's limits tests.
 *
 *   hostile-http MODE SIZE
 *     endless   a chunked 200 that never ends (stops at SIZE bytes)
 *     object    a 200 JSON object of SIZE bytes
 *     error     a 400 Status whose message is SIZE bytes
 *     zeros     a 200 JSON array of about SIZE bytes: [0,0,0,...]
 *     empties   a 200 JSON array of about SIZE bytes: [{},{},{},...]
 *     deep      a 200 JSON array of about SIZE bytes of objects nested
 *               1000 deep: [{"a":{"a":...}},...]
 *
 * Prints "serving on http://127.0.0.1:PORT" once listening; serves at most 16
 * connections and exits after 60 s, so a failing test never leaves it behind. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

static int send_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return -1;
                p += w;
                n -= (size_t)w;
        }
        return 0;
}

/* Bytes of filler, in 64 KiB pieces, as chunks or plain. */
static int send_filler(int fd, size_t size, bool chunked) {
        static char buf[64 * 1024];
        memset(buf, 'a', sizeof(buf));
        for (size_t sent = 0; sent < size;) {
                size_t n = size - sent < sizeof(buf) ? size - sent : sizeof(buf);
                char head[32];
                int hn = snprintf(head, sizeof(head), "%zx\r\n", n);
                if ((chunked && send_all(fd, head, (size_t)hn) < 0) || send_all(fd, buf, n) < 0 ||
                    (chunked && send_all(fd, "\r\n", 2) < 0))
                        return -1;
                sent += n;
        }
        return chunked ? send_all(fd, "0\r\n\r\n", 5) : 0;
}

/* A JSON array of about size bytes: "[" unit "," unit ... "]" (legal JSON,
 * cheap to send, dear to parse into a tree). */
static void answer_array(int fd, const char *unit, size_t size) {
        size_t ulen = strlen(unit), n = size / (ulen + 1) ? size / (ulen + 1) : 1;
        _cleanup_free_ char *head = xasprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                              "Content-Length: %zu\r\n\r\n[",
                                              n * (ulen + 1) + 1);
        if (send_all(fd, head, strlen(head)) < 0)
                return;
        _cleanup_free_ char *piece = xasprintf(",%s", unit);
        for (size_t i = 0; i < n; i++)
                if (send_all(fd, i ? piece : piece + 1, i ? ulen + 1 : ulen) < 0)
                        return;
        (void)send_all(fd, "]", 1);
}

/* {"a":{"a":...{}...}} nested depth deep (new string). */
static char *nested(unsigned depth) {
        char *s = xmalloc((size_t)depth * 6 + 3);
        char *p = s;
        for (unsigned i = 0; i < depth; i++)
                p = stpcpy(p, "{\"a\":");
        p = stpcpy(p, "{}");
        for (unsigned i = 0; i < depth; i++)
                *p++ = '}';
        *p = 0;
        return s;
}

static void answer(int fd, const char *mode, size_t size) {
        char req[4096];
        if (recv(fd, req, sizeof(req), 0) <= 0)
                return;
        _cleanup_free_ char *head = NULL;
        if (strcmp(mode, "zeros") == 0 || strcmp(mode, "empties") == 0) {
                answer_array(fd, mode[0] == 'z' ? "0" : "{}", size);
                return;
        }
        if (strcmp(mode, "deep") == 0) {
                _cleanup_free_ char *unit = nested(1000);
                answer_array(fd, unit, size);
                return;
        }
        if (strcmp(mode, "endless") == 0) {
                head = xstrdup("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
                if (send_all(fd, head, strlen(head)) == 0)
                        (void)send_filler(fd, size, true);
                return;
        }
        bool error = strcmp(mode, "error") == 0;
        const char *pre = error ? "{\"kind\":\"Status\",\"reason\":\"BadRequest\",\"code\":400,\"message\":\""
                                : "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"big\"},\"data\":{\"x\":\"";
        const char *post = error ? "\"}" : "\"}}";
        head = xasprintf("HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                         error ? "400 Bad Request" : "200 OK", strlen(pre) + size + strlen(post), pre);
        if (send_all(fd, head, strlen(head)) == 0 && send_filler(fd, size, false) == 0)
                (void)send_all(fd, post, strlen(post));
}

int main(int argc, char **argv) {
        static const char *const modes[] = { "endless", "object", "error", "zeros", "empties", "deep" };
        bool known = false;
        for (size_t i = 0; argc == 3 && i < sizeof(modes) / sizeof(modes[0]); i++)
                known = known || strcmp(argv[1], modes[i]) == 0;
        if (!known) {
                fprintf(stderr, "usage: hostile-http endless|object|error|zeros|empties|deep SIZE\n");
                return 2;
        }
        int64_t size;
        if (parse_int64(argv[2], 0, INT64_C(1) << 34, &size) < 0)
                return 2;
        alarm(60);
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t al = sizeof(a);
        if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 4) < 0 ||
            getsockname(s, (struct sockaddr *)&a, &al) < 0) {
                perror("hostile-http");
                return 1;
        }
        printf("serving on http://127.0.0.1:%u\n", ntohs(a.sin_port));
        fflush(stdout);
        for (int i = 0; i < 16; i++) {
                int fd = accept(s, NULL, NULL);
                if (fd < 0)
                        continue;
                answer(fd, argv[1], (size_t)size);
                close(fd);
        }
        return 0;
}
