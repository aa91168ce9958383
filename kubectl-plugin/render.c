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

#define C_RESET "\033[0m"

size_t text_width(const char *s) {
        size_t w = 0;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if ((*p & 0xc0) != 0x80)
                        w++;
        return w;
}

void text_table_init(struct text_table *t, size_t cols, size_t shrink) {
        *t = (struct text_table){ .cols = cols, .shrink = shrink };
}

void text_table_add(struct text_table *t, const char *const *cells, const char *const *colors) {
        t->cells = xrealloc(t->cells, (t->rows + 1) * t->cols * sizeof(char *));
        t->colors = xrealloc(t->colors, (t->rows + 1) * t->cols * sizeof(char *));
        for (size_t c = 0; c < t->cols; c++) {
                t->cells[t->rows * t->cols + c] = escape_for_terminal(cells[c] ? cells[c] : "");
                t->colors[t->rows * t->cols + c] = colors ? colors[c] : NULL;
        }
        t->rows++;
}

void text_table_layout(struct text_table *t, int term_width, bool wide) {
        free(t->width);
        t->width = xcalloc(t->cols, sizeof(size_t));
        for (size_t r = 0; r < t->rows; r++)
                for (size_t c = 0; c < t->cols; c++) {
                        size_t w = text_width(t->cells[r * t->cols + c]);
                        if (w > t->width[c])
                                t->width[c] = w;
                }
        if (wide || term_width <= 0 || t->shrink >= t->cols)
                return;
        size_t total = 0;
        for (size_t c = 0; c < t->cols; c++)
                total += t->width[c] + (c + 1 < t->cols ? 2 : 0);
        if (total <= (size_t)term_width)
                return;
        size_t over = total - (size_t)term_width, w = t->width[t->shrink];
        t->width[t->shrink] = w > over + 10 ? w - over : (w < 10 ? w : 10);
}

static void print_cell(FILE *out, const char *cell, size_t width, bool pad, const char *color) {
        size_t w = text_width(cell);
        size_t bytes = strlen(cell);
        bool cut = w > width;
        if (cut) {
                /* Keep width - 3 code points, then "...". */
                size_t keep = width > 3 ? width - 3 : 0, n = 0;
                bytes = 0;
                while (cell[bytes] && n < keep) {
                        bytes++;
                        while ((cell[bytes] & 0xc0) == 0x80)
                                bytes++;
                        n++;
                }
                w = keep + 3;
        }
        fprintf(out, "%s%.*s%s%s", color ? color : "", (int)bytes, cell, cut ? "..." : "", color ? C_RESET : "");
        if (pad && w < width + 2)
                fprintf(out, "%*s", (int)(width + 2 - w), "");
        else if (pad)
                fputs("  ", out);
}

void text_table_print_row(FILE *out, const struct text_table *t, size_t r, bool color) {
        size_t end = t->cols;
        while (end > 1 && !t->cells[r * t->cols + end - 1][0])
                end--; /* no padding before empty trailing cells */
        for (size_t c = 0; c < end; c++) {
                const char *cell = t->cells[r * t->cols + c];
                size_t width = t->width ? t->width[c] : text_width(cell);
                /* Only the shrinkable column is ever cut; a later, longer cell widens the others. */
                if (c != t->shrink && text_width(cell) > width)
                        width = text_width(cell);
                print_cell(out, cell, width, c + 1 < end, color ? t->colors[r * t->cols + c] : NULL);
        }
        fputc('\n', out);
}

size_t text_table_print(FILE *out, struct text_table *t, int term_width, bool wide, bool color) {
        text_table_layout(t, term_width, wide);
        for (size_t r = 0; r < t->rows; r++)
                text_table_print_row(out, t, r, color);
        return t->rows;
}

void text_table_done(struct text_table *t) {
        for (size_t i = 0; i < t->rows * t->cols; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t->colors);
        free(t->width);
        *t = (struct text_table){ 0 };
}
