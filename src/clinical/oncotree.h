/* The OncoTree code list shipped with zengen (internal to src/clinical). */
#ifndef ZG_ONCOTREE_H
#define ZG_ONCOTREE_H

#include "common/compat.h"

struct zg_oncotree_entry {
    const char *code, *name, *tissue;
};

/* Sorted by code (strcmp order). */
extern const struct zg_oncotree_entry zg_oncotree[];
extern const size_t zg_oncotree_count;

#endif
