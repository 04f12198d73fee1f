/* SPDX-License-Identifier: MIT */
#ifndef LIB_STR_H
#define LIB_STR_H

#include <stdbool.h>
#include <string.h>

/* Does s (NULL: no) start with prefix? */
static inline bool str__starts(const char *s, const char *prefix)
{
	return s && !strncmp(s, prefix, strlen(prefix));
}

#endif
