// SPDX-License-Identifier: MIT
/* The program's crates and its dependencies' directories: see crate_map.h. */
#include "binary/crate_map.h"

#include <dwarf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/array.h"

struct crate_unit {
	char *crate;	/* "tokio"; NULL when the unit does not say (incremental builds) */
	char *dir;	/* absolute directory of its root file: its files are below */
	char *comp_dir; /* where rustc ran */
	bool relative;	/* its root file was given relative to comp_dir */
};

struct crate_map {
	struct crate_unit *units; /* one per crate and directory */
	size_t n, cap;
	const char *workspace;	  /* a comp_dir of units */
};

/* "ROOT/@/CRATE.HASH-cgu.N" -> root and crate, malloc'ed (an incremental
 * build names its units "ROOT/@/<random>": crate NULL); false if not so. */
static bool parse_unit_name(const char *name, char **root, char **crate)
{
	const char *at = name ? strstr(name, "/@/") : NULL;
	size_t len;

	if (!at || at == name)
		return false;
	len = strcspn(at + 3, ".");
	*root = strndup(name, (size_t)(at - name));
	*crate = len && at[3 + len] == '.' ? strndup(at + 3, len) : NULL;
	return *root && (*crate || at[3 + len] != '.');
}

static int add_unit(struct crate_map *m, char *crate, const char *root, const char *comp_dir)
{
	const char *slash = strrchr(root, '/');
	int dlen = slash ? (int)(slash - root) : 0;
	struct crate_unit u = {.crate = crate, .relative = root[0] != '/'};
	size_t len = (comp_dir ? strlen(comp_dir) : 0) + (size_t)dlen + 2;

	u.comp_dir = strdup(comp_dir ?: "");
	u.dir = malloc(len);
	if (!u.comp_dir || !u.dir)
		goto fail;
	if (u.relative && comp_dir)
		snprintf(u.dir, len, "%s/%.*s", comp_dir, dlen, root);
	else
		snprintf(u.dir, len, "%.*s", dlen, root);
	/* a crate's many units: one entry */
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->units[i].crate ?: "", crate ?: "") && !strcmp(m->units[i].dir, u.dir) &&
		    !strcmp(m->units[i].comp_dir, u.comp_dir)) {
			free(u.comp_dir);
			free(u.dir);
			free(crate);
			return 0;
		}
	if (array__grow((void **)&m->units, &m->cap, m->n + 1, sizeof(u)))
		goto fail;
	m->units[m->n++] = u;
	return 0;
fail:
	free(u.comp_dir);
	free(u.dir);
	free(crate);
	return -ENOMEM;
}

bool crate_map__is_std_dir(const char *comp_dir)
{
	return comp_dir && (!strncmp(comp_dir, "/rustc/", 7) || !strncmp(comp_dir, "/rust/deps/", 11));
}

/* The members' directory: most relative units' (std's is not one). */
static const char *likeliest_workspace(const struct crate_map *m)
{
	const char *best = NULL;
	size_t best_n = 0;

	for (size_t i = 0; i < m->n; i++) {
		size_t n = 0;

		if (!m->units[i].relative || crate_map__is_std_dir(m->units[i].comp_dir))
			continue;
		for (size_t j = 0; j < m->n; j++)
			n += m->units[j].relative && !strcmp(m->units[j].comp_dir, m->units[i].comp_dir);
		if (n > best_n) {
			best = m->units[i].comp_dir;
			best_n = n;
		}
	}
	return best;
}

static bool is_member(const struct crate_map *m, const struct crate_unit *u);

struct crate_map *crate_map__new(Dwarf *dw, __u64 main_vaddr)
{
	struct crate_map *m = calloc(1, sizeof(*m));
	const char *main_dir = NULL;
	bool members = false;
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie, main_cu;
	int err = 0;

	if (!m) {
		errno = ENOMEM;
		return NULL;
	}
	while (dw && !err && !dwarf_get_units(dw, cu, &cu, NULL, NULL, &cudie, NULL)) {
		Dwarf_Attribute attr;
		const char *comp_dir = dwarf_formstring(dwarf_attr(&cudie, DW_AT_comp_dir, &attr));
		char *root = NULL, *crate = NULL;

		if (dwarf_tag(&cudie) == DW_TAG_compile_unit &&
		    parse_unit_name(dwarf_diename(&cudie), &root, &crate))
			err = add_unit(m, crate, root, comp_dir);
		else
			free(crate);
		free(root);
	}
	if (!err && m->n && main_vaddr && dwarf_addrdie(dw, main_vaddr, &main_cu)) {
		Dwarf_Attribute attr;

		main_dir = dwarf_formstring(dwarf_attr(&main_cu, DW_AT_comp_dir, &attr));
	}
	for (size_t i = 0; main_dir && i < m->n && !m->workspace; i++)
		if (!strcmp(m->units[i].comp_dir, main_dir))
			m->workspace = m->units[i].comp_dir;
	if (!m->workspace)
		m->workspace = likeliest_workspace(m);
	/* no member (a build system that passes absolute paths): cannot tell */
	for (size_t i = 0; m->workspace && i < m->n && !members; i++)
		members = is_member(m, &m->units[i]);
	if (err || !members) {
		crate_map__free(m);
		errno = err ? -err : ENODATA;
		return NULL;
	}
	return m;
}

void crate_map__free(struct crate_map *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->units[i].crate);
		free(m->units[i].dir);
		free(m->units[i].comp_dir);
	}
	free(m->units);
	free(m);
}

const char *crate_map__workspace(const struct crate_map *m)
{
	return m ? m->workspace : NULL;
}

static bool is_member(const struct crate_map *m, const struct crate_unit *u)
{
	return u->relative && !strcmp(u->comp_dir, m->workspace);
}

/* The crate a Rust path starts with, into buf; false for a name that is no
 * path ("main", "{async_fn#0}", a short inlined name). A trait impl on a
 * type parameter ("<F as core::future::IntoFuture>::into_future") is the
 * trait's crate's blanket impl. */
static bool path_crate(const char *function, char *buf, size_t len)
{
	const char *as = function[0] == '<' ? strstr(function, " as ") : NULL;
	size_t n;

	if (as && !memchr(function, ':', (size_t)(as - function)) &&
	    !memchr(function + 1, '<', (size_t)(as - function - 1)))
		function = as + 4;
	function += strspn(function, "<&*");
	if (!strncmp(function, "mut ", 4) || !strncmp(function, "dyn ", 4))
		function += 4;
	n = strspn(function, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
	if (!n || n >= len || (strncmp(function + n, "::", 2) && function[n] != '['))
		return false;
	memcpy(buf, function, n);
	buf[n] = '\0';
	return true;
}

/* Is path below dir (as whole components)? */
static bool below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return n && !strncmp(path, dir, n) && (path[n] == '/' || dir[n - 1] == '/');
}

int crate_map__is_own(const struct crate_map *m, const char *function, const char *file)
{
	char crate[128];
	size_t best = 0;
	int own = -1;

	if (!m)
		return -1;
	if (function && path_crate(function, crate, sizeof(crate))) {
		bool unnamed_member = false;

		for (size_t i = 0; i < m->n; i++) {
			if (m->units[i].crate && !strcmp(m->units[i].crate, crate))
				return is_member(m, &m->units[i]);
			unnamed_member |= !m->units[i].crate && is_member(m, &m->units[i]);
		}
		/* a crate no unit names: a dependency, unless the members' units
		 * are unnamed (an incremental build): then the file says */
		if (!unnamed_member)
			return 0;
	}
	if (!file || file[0] != '/')
		return -1;
	/* the innermost crate directory holding it, else the workspace */
	for (size_t i = 0; i < m->n; i++) {
		size_t n = strlen(m->units[i].dir);

		if (n > best && below(file, m->units[i].dir)) {
			best = n;
			own = is_member(m, &m->units[i]);
		}
	}
	return own >= 0 ? own : below(file, m->workspace);
}
