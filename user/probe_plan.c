// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "array.h"
#include "probe_plan.h"

void probe_plan__release(struct probe_plan *plan)
{
	free(plan->sites);
	memset(plan, 0, sizeof(*plan));
}

int probe_plan__add(struct probe_plan *plan, const struct probe_site *site)
{
	int err = array__grow((void **)&plan->sites, &plan->cap, plan->nsites + 1,
			      sizeof(*plan->sites));

	if (err)
		return err;
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
