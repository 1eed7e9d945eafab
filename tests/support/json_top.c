/* json_top.c - a top-level key lookup in one JSON object (json_top.h). */
#include "json_top.h"

#include <stddef.h>
#include <string.h>

static const char *skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    return p;
}

/* p at a '"': returns the character after the closing quote, or NULL. */
static const char *skip_string(const char *p)
{
    for (p++; *p && *p != '"'; p++)
        if (*p == '\\' && !*++p)
            return NULL;
    return *p ? p + 1 : NULL;
}

/* p at a value: returns the ',' or '}' that ends it at the top level, or
 * NULL. Nested objects and arrays are skipped by depth, and strings whole,
 * so a brace or a comma inside a string does not count. */
static const char *skip_value(const char *p)
{
    int depth = 0;
    for (;;) {
        switch (*p) {
        case '\0': return NULL;
        case '"':
            p = skip_string(p);
            if (!p)
                return NULL;
            continue;
        case '{':
        case '[': depth++; break;
        case '}':
        case ']':
            if (depth == 0)
                return p; /* the end of the object being walked */
            depth--;
            break;
        case ',':
            if (depth == 0)
                return p;
            break;
        default: break;
        }
        p++;
    }
}

const char *json_top_last_object(const char *out)
{
    const char *last = NULL;
    for (const char *line = out; line;) {
        if (*line == '{')
            last = line;
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return last;
}

const char *json_top_value(const char *json, const char *key)
{
    size_t len = strlen(key);
    const char *p = json ? skip_space(json) : NULL;
    if (!p || *p != '{')
        return NULL;
    p = skip_space(p + 1);
    while (*p == '"') {
        const char *name = p + 1, *end = skip_string(p);
        if (!end)
            return NULL;
        p = skip_space(end);
        if (*p != ':')
            return NULL;
        p = skip_space(p + 1);
        if ((size_t)(end - 1 - name) == len && memcmp(name, key, len) == 0)
            return p;
        p = skip_value(p);
        if (!p || *p != ',')
            return NULL; /* '}' or malformed: the key is not at the top */
        p = skip_space(p + 1);
    }
    return NULL;
}
