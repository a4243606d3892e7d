/* yamlcfg.h — strict YAML config files (libyaml) mapped onto C structs by a
 * field table, so stages never hand-walk a YAML tree.
 *
 * Strict: an unknown key (the error lists the valid ones), a repeated key, a
 * missing required key, a wrong type, a value out of bounds or not in an
 * enum's names is an error "FILE:LINE:COL: reason". Anchors and aliases are
 * refused. Strings and arrays are malloc'd; yc_free releases them. */
#ifndef STREAMREC_YAMLCFG_H
#define STREAMREC_YAMLCFG_H
#include <stddef.h>
#include <stdint.h>

typedef enum {
    YC_STR,        /* char * */
    YC_INT,        /* int64_t */
    YC_DOUBLE,     /* double */
    YC_BOOL,       /* int */
    YC_DURATION,   /* int64_t µs, "30s", "5m", ... (time_parse_duration) */
    YC_ENUM,       /* int: index into enum_names */
    YC_STRUCT,     /* nested mapping: sub describes it, stored inline */
    YC_LIST,       /* sequence of sub structs: elem pointer at offset, int count at count_offset */
    YC_STR_LIST,   /* sequence of strings: char ** at offset, int count at count_offset; a scalar is a 1-list */
    YC_STR_MAP,    /* mapping string->scalar: yc_kv * at offset, int count at count_offset */
} yc_type;

typedef struct yc_kv { char *key; char *value; } yc_kv;

typedef struct yc_struct yc_struct;
typedef struct yc_field {
    const char *key;
    yc_type type;
    size_t offset;               /* offsetof(struct, member) */
    int required;
    const yc_struct *sub;        /* YC_STRUCT / YC_LIST */
    size_t count_offset;         /* YC_LIST / YC_STR_LIST / YC_STR_MAP */
    const char *const *enum_names; /* YC_ENUM, NULL-terminated */
    double min, max;             /* bounds when min < max (YC_DURATION: µs) */
    size_t line_offset;          /* if nonzero: int where the key's line is stored (for later errors) */
} yc_field;

struct yc_struct {
    const char *name;            /* for messages: "experiment" */
    const yc_field *fields; int nfields;
    size_t size;                 /* sizeof the struct (list elements) */
};

/* Parse path into *out (zeroed first). 0, or -1 with err "path:line:col: reason". */
int yc_load(const char *path, const yc_struct *root, void *out, char *err, size_t errlen);
int yc_load_string(const char *name, const char *text, size_t len, const yc_struct *root,
                   void *out, char *err, size_t errlen);
void yc_free(const yc_struct *root, void *obj);
#endif
