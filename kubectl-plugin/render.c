/* render.c - text helpers for what reaches the user's terminal. */
#include <string.h>

#include "plugin.h"

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if invalid. */
static size_t utf8_valid_len(const unsigned char *s) {
        if (s[0] < 0x80)
                return 1;
        size_t n;
        unsigned cp;
        if ((s[0] & 0xe0) == 0xc0)
                n = 2, cp = s[0] & 0x1f;
        else if ((s[0] & 0xf0) == 0xe0)
                n = 3, cp = s[0] & 0x0f;
        else if ((s[0] & 0xf8) == 0xf0)
                n = 4, cp = s[0] & 0x07;
        else
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        static const unsigned min[] = { 0, 0, 0x80, 0x800, 0x10000 };
        if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        /* C1 controls (U+0080..U+009F) act on terminals too. */
        if (cp >= 0x80 && cp <= 0x9f)
                return 0;
        return n;
}

char *escape_for_terminal(const char *s) {
        size_t len = strlen(s);
        char *out = xmalloc(len * 4 + 1), *o = out;
        const unsigned char *p = (const unsigned char *)s;
        while (*p) {
                unsigned char c = *p;
                if (c == '\n' || c == '\t' || c == '\r') {
                        *o++ = '\\';
                        *o++ = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
                        p++;
                        continue;
                }
                if (c < 0x20 || c == 0x7f) {
                        o += sprintf(o, "\\x%02x", c);
                        p++;
                        continue;
                }
                size_t n = utf8_valid_len(p);
                if (n == 0) {
                        o += sprintf(o, "\\x%02x", c);
                        p++;
                        continue;
                }
                memcpy(o, p, n);
                o += n;
                p += n;
        }
        *o = '\0';
        return out;
}
