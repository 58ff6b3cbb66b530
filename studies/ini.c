/* ini.c - the study-file line reader: `[section]` headers, `key = value`
 * (or `key: value`) lines, comments starting with ';' or '#' at the start of
 * a line or ' ;' after a value, a UTF-8 byte-order mark on the first line,
 * CRLF line ends. Lines of any length: the whole text is in memory (study
 * files are small), so no line is ever cut into pieces that would parse as
 * lines of their own (libinih's fixed 200-byte buffer did exactly that). */
#include <string.h>

#include "studies/config.h"

static int is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v'; }

static char *lstrip(char *s) {
    while (is_space(*s)) s++;
    return s;
}

static void rstrip(char *s) {
    size_t k = strlen(s);
    while (k > 0 && is_space(s[k - 1])) s[--k] = '\0';
}

/* Cut an inline comment: a ';' preceded by whitespace. */
static void cut_inline_comment(char *s) {
    for (char *p = s; *p; p++)
        if (*p == ';' && p > s && is_space(p[-1])) {
            *p = '\0';
            return;
        }
}

int genbo__ini_parse(char *text, size_t len, genbo__ini_handler handler, void *user) {
    char section[256] = "";
    int line = 0;
    size_t pos = 0;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) pos = 3;
    while (pos < len) {
        char *start = text + pos;
        char *nl = memchr(start, '\n', len - pos);
        size_t k = nl ? (size_t)(nl - start) : len - pos;
        start[k] = '\0'; /* the '\n' or the terminator the caller provides */
        pos += k + 1;
        line++;
        if (memchr(start, '\0', k)) return -line; /* a NUL byte: not a text file */
        char *s = lstrip(start);
        rstrip(s);
        if (!*s || *s == ';' || *s == '#') continue;
        if (*s == '[') {
            char *end = strchr(s + 1, ']');
            if (!end || (size_t)(end - s - 1) >= sizeof section) return line;
            memcpy(section, s + 1, (size_t)(end - s - 1));
            section[end - s - 1] = '\0';
            char *rest = lstrip(end + 1);
            if (*rest && *rest != ';' && *rest != '#') return line;
            continue;
        }
        char *eq = s + strcspn(s, "=:");
        if (!*eq) return line;
        /* a ' ;' before the delimiter makes the line a key without a value */
        for (char *p = s; p < eq; p++)
            if (*p == ';' && p > s && is_space(p[-1])) return line;
        *eq = '\0';
        char *name = s, *value = lstrip(eq + 1);
        rstrip(name);
        cut_inline_comment(value);
        rstrip(value);
        if (!handler(user, line, section, name, value)) return 0; /* the handler keeps its error */
    }
    return 0;
}
