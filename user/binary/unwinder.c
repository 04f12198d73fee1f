// SPDX-License-Identifier: MIT
/*
 * DWARF CFI unwinding of a copied stack, x86_64 only. libdw interprets the
 * CIE/FDE programs and hands back one row per pc; this file only evaluates
 * the few rule shapes compilers emit for ordinary code: CFA = rsp|rbp + k,
 * registers saved at CFA + k, kept (same value) or lost (undefined). Any
 * other shape (PLT stubs, realigned stacks, signal trampolines) ends the walk.
 */
#include "binary/unwinder.h"
#include "binary/binary.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <gelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* DWARF register numbers of the x86_64 psABI */
#define REG_RBP 6
#define REG_RSP 7
#define REG_RA 16

struct text_range {
	__u64 start, end;
};

struct unwinder {
	Dwarf_CFI *cfi;		 /* the binary's */
	struct text_range *text; /* executable PT_LOAD segments */
	size_t ntext;
};

/* binary__open checked that it is an x86_64 executable */
static int read_text(struct unwinder *u, Elf *elf)
{
	size_t nphdr;

	if (elf_getphdrnum(elf, &nphdr))
		return -ENOEXEC;
	u->text = calloc(nphdr ? nphdr : 1, sizeof(*u->text));
	if (!u->text)
		return -ENOMEM;
	for (size_t i = 0; i < nphdr; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, i, &ph))
			return -ENOEXEC;
		if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X))
			u->text[u->ntext++] = (struct text_range){ ph.p_vaddr,
								   ph.p_vaddr + ph.p_memsz };
	}
	return 0;
}

struct unwinder *unwinder__new(const struct binary *bin)
{
	struct unwinder *u;
	int err;

	if (!bin) {
		errno = EINVAL;
		return NULL;
	}
	u = calloc(1, sizeof(*u));
	if (!u) {
		errno = ENOMEM;
		return NULL;
	}
	err = read_text(u, binary__elf(bin));
	if (err)
		goto fail;
	u->cfi = binary__cfi(bin);
	if (!u->cfi) {
		err = -ENODATA;
		goto fail;
	}
	return u;

fail:
	unwinder__free(u);
	errno = -err;
	return NULL;
}

void unwinder__free(struct unwinder *u)
{
	if (!u)
		return;
	free(u->text);
	free(u);
}

static bool in_text(const struct unwinder *u, __u64 vaddr)
{
	for (size_t i = 0; i < u->ntext; i++)
		if (vaddr >= u->text[i].start && vaddr < u->text[i].end)
			return true;
	return false;
}

/* The 8 bytes at runtime address addr, if the copy holds them. */
static bool read_slot(const struct stack_snapshot *s, __u64 addr, __u64 *val)
{
	__u64 off = addr - s->sp;

	if (!s->stack || addr < s->sp || s->len < 8 || off > s->len - 8)
		return false;
	memcpy(val, s->stack + off, 8);
	return true;
}

struct regs {
	__u64 sp, bp;
	bool bp_known;
};

/* CFA = breg(rsp|rbp) + k; false for any other expression. libdw spells
 * a def_cfa rule DW_OP_bregx reg, k; an expression may use DW_OP_bregN k. */
static bool eval_cfa(Dwarf_Frame *frame, const struct regs *r, __u64 *cfa)
{
	Dwarf_Op *ops;
	size_t nops;
	__u64 reg, off;

	if (dwarf_frame_cfa(frame, &ops, &nops) || nops != 1)
		return false;
	if (ops[0].atom == DW_OP_bregx) {
		reg = ops[0].number;
		off = ops[0].number2;
	} else if (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31) {
		reg = ops[0].atom - DW_OP_breg0;
		off = ops[0].number;
	} else {
		return false;
	}
	/* offsets are signed, stored as u64: the addition wraps right */
	if (reg == REG_RSP)
		*cfa = r->sp + off;
	else if (reg == REG_RBP && r->bp_known)
		*cfa = r->bp + off;
	else
		return false;
	return true;
}

enum rule { RULE_SAME, RULE_UNDEFINED, RULE_SLOT, RULE_OTHER };

/* Classifies a register's rule; for RULE_SLOT, *slot is where it is saved. */
static enum rule reg_rule(Dwarf_Frame *frame, int regno, __u64 cfa, __u64 *slot)
{
	Dwarf_Op mem[3], *ops;
	size_t nops;

	if (dwarf_frame_register(frame, regno, mem, &ops, &nops))
		return RULE_OTHER;
	if (nops == 0)
		return ops ? RULE_UNDEFINED : RULE_SAME;
	/* offset(N) comes back as DW_OP_call_frame_cfa [DW_OP_plus_uconst N] */
	if (ops[0].atom != DW_OP_call_frame_cfa)
		return RULE_OTHER;
	if (nops == 1) {
		*slot = cfa;
		return RULE_SLOT;
	}
	if (nops == 2 && ops[1].atom == DW_OP_plus_uconst) {
		*slot = cfa + ops[1].number;
		return RULE_SLOT;
	}
	return RULE_OTHER; /* val_offset (DW_OP_stack_value) or worse */
}

/* A pc without call frame information (hand-written code, an FDE left
 * out): walk the frame pointer chain a frame-pointer build keeps, [bp] the
 * caller's bp and [bp + 8] the return address. */
static bool fp_step(const struct stack_snapshot *s, struct regs *r, __u64 *ra)
{
	__u64 bp;

	if (!r->bp_known || r->bp < r->sp || !read_slot(s, r->bp + 8, ra) || !read_slot(s, r->bp, &bp))
		return false;
	*r = (struct regs){ .sp = r->bp + 16, .bp = bp, .bp_known = true };
	return true;
}

/* One frame up from pc (looked up at `lookup`): the caller's return address
 * and registers. false when the walk ends here. */
static bool step(const struct unwinder *u, const struct stack_snapshot *s, __u64 lookup,
		 struct regs *r, __u64 *ra)
{
	Dwarf_Frame *frame;
	__u64 cfa, slot, bp = r->bp;
	bool bp_known = r->bp_known, ok = false;

	if (dwarf_cfi_addrframe(u->cfi, lookup, &frame))
		return fp_step(s, r, ra);
	if (!eval_cfa(frame, r, &cfa) || cfa <= r->sp)
		goto out; /* a frame must move up the stack */
	if (reg_rule(frame, REG_RA, cfa, &slot) != RULE_SLOT || !read_slot(s, slot, ra))
		goto out; /* undefined return address: the outermost frame */
	switch (reg_rule(frame, REG_RBP, cfa, &slot)) {
	case RULE_SAME:
		break;
	case RULE_SLOT:
		if (!read_slot(s, slot, &bp))
			goto out;
		bp_known = true;
		break;
	default: /* lost: fine until a frame needs it for its CFA */
		bp_known = false;
		break;
	}
	*r = (struct regs){ .sp = cfa, .bp = bp, .bp_known = bp_known };
	ok = true;
out:
	free(frame);
	return ok;
}

int unwinder__unwind(const struct unwinder *u, const struct stack_snapshot *s, __u64 *pcs,
		     int max)
{
	struct regs r;
	__u64 pc, ra;
	int n = 0;

	if (!u || !s || !pcs || max <= 0)
		return 0;
	pc = s->ip - s->bias;
	if (!in_text(u, pc))
		return 0;
	r = (struct regs){ .sp = s->sp, .bp = s->bp, .bp_known = true };
	pcs[n++] = pc;
	/* a return address is after its call, which may end the caller's FDE
	 * (a noreturn call): its row is the one of the call instruction */
	while (n < max && step(u, s, n == 1 ? pc : pc - 1, &r, &ra)) {
		pc = ra - s->bias;
		if (!in_text(u, pc))
			break;
		pcs[n++] = pc;
	}
	return n;
}
