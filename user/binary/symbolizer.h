/* SPDX-License-Identifier: MIT */
/*
 * Addresses of the target's executable -> source: function, file and line
 * of every frame at that address, inlined ones included, from the DWARF
 * line tables and inlined-subroutine entries (libdw) when the file has them,
 * from the symbol table otherwise. Results are cached per address.
 */
#ifndef SYMBOLIZER_H
#define SYMBOLIZER_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

struct symbolizer;

struct sym_frame {
	const char *function; /* demangled, without the hash; NULL if unknown */
	const char *file;     /* as the DWARF says (absolute or relative); NULL without line tables */
	__u32 line, col;      /* 0 if unknown */
	bool inlined;	      /* inlined into the next (outer) frame */
	/* runtime or library code, as symbolizer__is_library says (a relative
	 * path taken in its compile unit's directory: a registry crate's files
	 * are as relative as the program's); unknown code is too */
	bool library;
	bool by_address; /* function is "0x<vaddr>": nothing names it (a stripped binary) */
};

struct binary;

/* Names addresses of the binary (borrowed: it must outlive the symbolizer).
 * A binary without DWARF resolves through its symbols only. NULL + ENOMEM. */
struct symbolizer *symbolizer__new(const struct binary *bin);
void symbolizer__free(struct symbolizer *s);
/* true if the file has DWARF line tables for more than the prebuilt
 * standard library (crate_map__is_std_dir) */
bool symbolizer__has_lines(const struct symbolizer *s);

/* Frames at ELF virtual address `vaddr`, innermost (most inlined) first,
 * the physical function last. A return address (is_return = true) is looked
 * up at vaddr - 1, inside its call instruction. Returns the number of frames
 * (>= 1 if the address is in a known function, else 0), at most max. The
 * strings live as long as the symbolizer. */
int symbolizer__frames(struct symbolizer *s, __u64 vaddr, bool is_return, struct sym_frame *out,
		       int max);

/* true when `file` is runtime or library code rather than the program's
 * own: crates from a cargo registry (~/.cargo/registry, Debian's
 * /usr/share/cargo/registry, vendored ones), the standard library
 * (/rustc/<hash>/library, library/std, ...). */
bool symbolizer__is_library_file(const char *file);
/* The same judgement on a demangled function path when there is no file:
 * std::, core::, alloc::, and the async runtimes' crates (tokio::,
 * async_task::, async_executor::, async_std::, async_global_executor::,
 * blocking::, smol::, futures_lite::, futures_util::, async_io::,
 * async_channel::, event_listener::, concurrent_queue::, ...), also behind a
 * leading '<' (trait impls). */
bool symbolizer__is_library_function(const char *function);

/* Runtime or library code: a function of a crate named above (by its
 * path, wherever its sources sit: vendored, a path or git dependency), or
 * any code in a file of a registry or of the standard library (third-party
 * crates). Either may be NULL. */
bool symbolizer__is_library(const char *function, const char *file);

/* The innermost frame of the program's own code along a call chain of ELF
 * vaddrs (pcs[0] an instruction address, the others return addresses, as
 * unwinder__unwind gives them), walking each address's inline frames
 * innermost first: the first frame not `library`. Judged frame by frame, as
 * a release build often has line tables for the standard library only
 * (file NULL, line 0 for the program's own frames then). 0 and *out
 * filled, or -ENOENT. `passed` (may be NULL) sees each library frame
 * walked before it, innermost first. */
int symbolizer__first_user_frame(struct symbolizer *s, const __u64 *pcs, int n,
				 struct sym_frame *out,
				 void (*passed)(const struct sym_frame *library, void *ctx), void *ctx);

#endif
