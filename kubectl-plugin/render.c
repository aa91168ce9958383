/* render.c - text helpers for what reaches the user's terminal. */
#include <string.h>

#include "plugin.h"

char *escape_for_terminal(const char *s) {
        return kstatus_escape_terminal(s);
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
