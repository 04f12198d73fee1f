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

/* A memory operand read through the first argument (rdi, or a register
 * copied from it) in a function's straight-line start. */
struct x86_field {
	__u64 disp;
	__u8 size;    /* bytes */
	bool compare; /* a cmp against it rather than a load */
};
/* Those operands in the order the code uses them, up to max: how many, or
 * -errno. What a layout is calibrated from. */
int x86_code__arg0_fields(const struct elf_symbols *syms, __u64 vaddr, struct x86_field *out,
			  int max);

/* Return addresses of every call to `target` in the file's functions: a
 * direct `call target`, or `call *slot(%rip)` through one of the pointer
 * slots given (see elf_symbols__pointer_slots). Found by a byte search,
 * each hit confirmed by disassembling its function from the start. Up to
 * max into rets; returns how many there are, or -errno. */
int x86_code__call_sites(const struct elf_symbols *syms, __u64 target, const __u64 *slots,
			 int nslots, __u64 *rets, int max);

/* A fetch_add on an 8-byte atomic: where the old value is in a register. */
struct x86_fetch_add {
	__u64 after; /* the instruction after the `lock xadd`: probe here */
	__u8 reg;    /* x86 number of the register holding the old value */
};
/* Every `lock xadd %reg, target` in the file's functions, the atomic
 * addressed rip-relative or through a register that a `lea` of it or a
 * load from one of `slots` (its GOT slots) just set. A site whose next
 * instruction is lock-prefixed is left out (a uprobe there never fires).
 * Up to max into out; returns how many there are, or -errno. */
int x86_code__fetch_add_sites(const struct elf_symbols *syms, __u64 target, const __u64 *slots,
			      int nslots, struct x86_fetch_add *out, int max);

#endif
