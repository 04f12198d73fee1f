/* SPDX-License-Identifier: MIT */
/*
 * Reading the target's x86-64 machine code (capstone) where a probe site
 * must be chosen or a layout read off an instruction. Decoding starts at a
 * known instruction boundary (a symbol, a return address), never mid-way.
 */
#ifndef X86_CODE_H
#define X86_CODE_H

#include <linux/types.h>
#include <stdbool.h>

struct elf_symbols;

/* Does the kernel emulate this instruction for a uprobe (no single-step
 * trap)? x86: push reg, jmp/call rel, jcc, nop. `code` holds >= 1 byte. */
bool x86_code__is_emulated(const __u8 *code, __u32 len);

/* Registers a probe reads, which the instructions skipped over must not
 * write: the first two arguments, the return value. */
enum x86_keep {
	X86_KEEP_ARG0 = 1 << 0, /* rdi */
	X86_KEEP_ARG1 = 1 << 1, /* rsi */
	X86_KEEP_RET = 1 << 2,	/* rax */
	X86_KEEP_SP = 1 << 3,	/* none but sp (always kept): a probe that reads no register */
};

/* Where to probe "execution reached `vaddr`" cheaply: the first instruction
 * the kernel emulates in the straight-line code starting at vaddr, as long
 * as nothing before it changes rsp, the control flow or a `keep` register;
 * else vaddr itself. -errno if the code cannot be read. */
int x86_code__cheap_point(const struct elf_symbols *syms, __u64 vaddr, unsigned keep, __u64 *out);
/* Where to probe "execution reached `vaddr`" cheaply: the first instruction
 * the kernel emulates in the straight-line code starting at vaddr, as long
 * as nothing before it changes rsp or the control flow; else vaddr itself.
 * -errno if the code cannot be read. */
int x86_code__cheap_probe_point(const struct elf_symbols *syms, __u64 vaddr, __u64 *out);
/* The same for a function entry whose probe reads the first argument and
 * sp: nothing before the chosen instruction may write rdi either. */
int x86_code__cheap_entry_point(const struct elf_symbols *syms, __u64 vaddr, __u64 *out);

/* Does a call instruction end right before `vaddr` (a return address, as
 * far as the bytes tell: call rel32, call *reg, call *mem)? */
bool x86_code__follows_call(const struct elf_symbols *syms, __u64 vaddr);

/* A value a function derives from one of its arguments: the argument
 * itself (always the first), a load through it, or a load through such a
 * loaded pointer (two hops), followed through register copies and stack
 * spills. What a layout is calibrated from: a field's offset and size, and
 * what the code then does with it. */
struct x86_value {
	int from;      /* the value it was loaded through; -1: the argument itself */
	__u64 disp;    /* the load's displacement from `from` */
	__u8 size;     /* bytes accessed */
	bool compare;  /* cmp/test in place rather than loaded */
	bool store;    /* only written */
	bool pointer;  /* used as a base address afterwards */
	__u64 mask;    /* the first `test $mask` or `and $mask` of it; 0: none */
	__u8 shift;    /* the first left shift of it (shl, add r,r, lea); 0: none */
};
/* Those values of argument `arg` (0: rdi, 1: rsi, 2: rdx, ...) in the
 * order the code first uses them, by a linear sweep of the function's
 * first instructions (up to its symbol's end): registers a call clobbers are dropped at the call,
 * the callee-saved ones and stack slots kept across branches (a value
 * parked in rbx stays there on every path of rustc's code). Up to max
 * into out: how many, or -errno. */
int x86_code__arg_values(const struct elf_symbols *syms, __u64 vaddr, int arg,
			 struct x86_value *out, int max);

/* The searches below walk the file's functions: its function symbols, or
 * in a stripped binary the functions of its CFI (cfi_functions.h). */

/* Return addresses of every call to `target` in the file's functions: a
 * direct `call target`, or `call *slot(%rip)` through one of the pointer
 * slots given (see elf_symbols__pointer_slots). Found by a byte search,
 * each hit confirmed by disassembling its function from the start. Up to
 * max into rets; returns how many there are, or -errno. */
int x86_code__call_sites(const struct elf_symbols *syms, __u64 target, const __u64 *slots,
			 int nslots, __u64 *rets, int max);

/* The same for direct calls (`call rel32`) of any of the targets, in one
 * pass over the file. */
int x86_code__direct_call_sites(const struct elf_symbols *syms, const __u64 *targets, int ntargets,
				__u64 *rets, int max);
/* And calls of any of the targets through one of the slots too. */
int x86_code__calls_of(const struct elf_symbols *syms, const __u64 *targets, int ntargets,
		       const __u64 *slots, int nslots, __u64 *rets, int max);

/* Return addresses of every `call *slot_off(%reg)` whose %reg was loaded
 * with `mov vt_off(%base), %reg` and not written since: a call through a
 * vtable slot, the vtable read from an object's header (async-task's
 * RawTask::run where Runnable::run was inlined). Up to max into rets;
 * returns how many there are, or -errno. */
int x86_code__vcall_sites(const struct elf_symbols *syms, __u64 vt_off, __u64 slot_off,
			  __u64 *rets, int max);

/* Is the function at vaddr only `mov vt_off(%rdi), %reg; jmp
 * *slot_off(%reg)` (or a call, maybe inside a frame pointer's push/pop):
 * a call through the slot of a vtable read from its argument's header
 * (async-task's Runnable::run and Runnable::schedule)? */
bool x86_code__vtable_jump(const struct elf_symbols *syms, __u64 vaddr, __u64 *vt_off,
			   __u64 *slot_off);
/* The functions of the file that are such a jump through slot_off: up to
 * max into out; how many there are, or -errno. */
int x86_code__vtable_jumps(const struct elf_symbols *syms, __u64 slot_off, __u64 *out, int max);

/* A fetch_add on an 8-byte atomic: where the old value is in a register. */
struct x86_fetch_add {
	__u64 after;  /* the instruction after the `lock xadd`: probe here */
	__u64 atomic; /* its address; with via_slot, the slot's that holds it */
	__u8 reg;     /* x86 number of the register holding the old value */
	__u8 len;     /* the `lock xadd`'s bytes, before `after` */
	bool via_slot;
	bool adds_one; /* the register was set to 1 first: a counter's fetch_add(1) */
};
/* Every `lock xadd %reg, target` in the file's functions, the atomic
 * addressed rip-relative or through a register that a `lea` of it or a
 * load from one of `slots` (its GOT slots) just set. A site whose next
 * instruction is lock-prefixed is left out (a uprobe there never fires).
 * Up to max into out; returns how many there are, or -errno. */
int x86_code__fetch_add_sites(const struct elf_symbols *syms, __u64 target, const __u64 *slots,
			      int nslots, struct x86_fetch_add *out, int max);
/* The same for every fetch_add(1) on any such atomic: a counter's
 * increments (tokio's task ids), to tell the counter by where they are. */
int x86_code__counter_adds(const struct elf_symbols *syms, struct x86_fetch_add *out, int max);

/* What an argument register holds at a call, as far as a linear sweep of
 * the calling function tells. */
struct x86_call_arg {
	__u64 addr;   /* from a `lea addr(%rip)`, or 0 */
	int from_arg; /* the calling function's own argument register (0: rdi ...
			 5: r9) it was called with, passed on; -1 if not */
};
/* The argument registers (rdi, rsi, rdx, rcx, r8, r9) at the call that
 * returns to ret, in the function starting at fn. 0, -ENOENT (no call
 * returns to ret in it), or -errno. */
int x86_code__call_args(const struct elf_symbols *syms, __u64 fn, __u64 ret,
			struct x86_call_arg args[6]);

/* An address a function's code takes rip-relative: `lea addr(%rip)`, or a
 * load of the 8-byte pointer stored at addr (a GOT slot, in a PIE). */
struct x86_rip_ref {
	__u64 addr;
	bool loaded; /* `mov addr(%rip), %reg`: the pointer stored there */
	bool call;   /* `call addr` (or, loaded, `call *addr(%rip)`) */
};
/* Where a thunk (`jmp rel32` or `jmp *slot(%rip)`, maybe inside a
 * frame-pointer push/pop) jumps: the target, or with *via_slot the slot
 * holding it; vaddr itself for any other code. No symbol needed. */
__u64 x86_code__thunk_target(const struct elf_symbols *syms, __u64 vaddr, bool *via_slot);
/* What a function does with its first argument (a pointer). */
struct x86_arg0_use {
	bool rmw;	    /* a lock'd read-modify-write of the word it points at */
	__u64 call;	    /* the first call made with it as the callee's first argument */
	bool call_via_slot; /* call is `call *call(%rip)`: the address of the slot */
};
/* The rip-relative references and direct calls in the first max_insns
 * instructions at vaddr (a linear sweep; no symbol needed: a stripped binary), up to max
 * into out, and what they do with the first argument (through rdi or a
 * register it was copied to). Returns how many references there are, or
 * -errno. */
int x86_code__rip_refs(const struct elf_symbols *syms, __u64 vaddr, int max_insns,
		       struct x86_rip_ref *out, int max, struct x86_arg0_use *use);

#endif
