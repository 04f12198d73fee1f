// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "probe_plan.h"

void probe_plan__release(struct probe_plan *plan)
{
	free(plan->sites);
	memset(plan, 0, sizeof(*plan));
}

int probe_plan__add(struct probe_plan *plan, const struct probe_site *site)
{
	if (plan->nsites == plan->cap) {
		size_t cap = plan->cap ? plan->cap * 2 : 64;
		struct probe_site *s = realloc(plan->sites, cap * sizeof(*s));

		if (!s)
			return -ENOMEM;
		plan->sites = s;
		plan->cap = cap;
	}
	plan->sites[plan->nsites++] = *site;
	return 0;
}

void probe_plan__note_missing(struct probe_plan *plan, const char *what)
{
	size_t len = strlen(plan->missing);

	if (len + strlen(what) + 3 >= sizeof(plan->missing))
		return;
	if (len)
		strcat(plan->missing, ", ");
	strcat(plan->missing, what);
}
