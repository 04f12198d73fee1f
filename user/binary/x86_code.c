// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <capstone/capstone.h>
#include "binary/elf_symbols.h"
#include "binary/x86_code.h"
#include "binary/cfi_functions.h"

#define SCAN_BYTES 64
#define SCAN_INSNS 8

bool x86_code__is_emulated(const __u8 *code, __u32 len)
{
	__u8 op = code[0];

	if (op == 0x41 && len > 1) /* REX.B: push %r8..%r15 */
		return code[1] >= 0x50 && code[1] <= 0x57;
	return (op >= 0x50 && op <= 0x57) || /* push reg */
	       op == 0xe8 || op == 0xe9 || op == 0xeb || /* call/jmp rel */
	       (op >= 0x70 && op <= 0x7f) ||		  /* jcc rel8 */
	       (op == 0x0f && len > 1 && code[1] >= 0x80 && code[1] <= 0x8f) || /* jcc rel32 */
	       op == 0x90;				  /* nop */
}

/* A 64-bit decoder with operand details. */
static int open_decoder(csh *cs)
{
	if (cs_open(CS_ARCH_X86, CS_MODE_64, cs) != CS_ERR_OK)
		return -ENOMEM;
	cs_option(*cs, CS_OPT_DETAIL, CS_OPT_ON);
	return 0;
}

static int read_code(const struct elf_symbols *syms, __u64 vaddr, __u8 *buf, size_t *len)
{
	/* near the end of the text a shorter read still holds instructions */
	for (size_t n = SCAN_BYTES; n >= 16; n /= 2)
		if (!elf_symbols__read(syms, vaddr, buf, n)) {
			*len = n;
			return 0;
		}
	return -EFAULT;
}

/* Ends a straight-line scan: a jump, a call, a write of rsp or of a
 * register the probe reads (`keep`: X86_KEEP_*). */
static bool is_control_flow(const cs_insn *insn)
{
	for (__u8 i = 0; i < insn->detail->groups_count; i++) {
		switch (insn->detail->groups[i]) {
		case CS_GRP_JUMP:
		case CS_GRP_CALL:
		case CS_GRP_RET:
		case CS_GRP_INT:
		case CS_GRP_IRET:
		case CS_GRP_BRANCH_RELATIVE:
			return true;
		}
	}
	return false;
}

static bool ends_scan(csh cs, const cs_insn *insn, unsigned keep)
{
	cs_regs rd, wr;
	__u8 nrd, nwr;

	if (is_control_flow(insn))
		return true;
	if (cs_regs_access(cs, insn, rd, &nrd, wr, &nwr))
		return true; /* cannot tell: assume the worst */
	for (__u8 i = 0; i < nwr; i++) {
		switch (wr[i]) {
		case X86_REG_RSP:
		case X86_REG_RIP:
			return true;
		case X86_REG_RDI:
		case X86_REG_EDI:
		case X86_REG_DI:
		case X86_REG_DIL:
			if (keep & X86_KEEP_ARG0)
				return true;
			break;
		case X86_REG_RSI:
		case X86_REG_ESI:
		case X86_REG_SI:
		case X86_REG_SIL:
			if (keep & X86_KEEP_ARG1)
				return true;
			break;
		case X86_REG_RAX:
		case X86_REG_EAX:
		case X86_REG_AX:
		case X86_REG_AL:
		case X86_REG_AH:
			if (keep & X86_KEEP_RET)
				return true;
			break;
		}
	}
	return false;
}

int x86_code__cheap_point(const struct elf_symbols *syms, __u64 vaddr, unsigned keep, __u64 *out)
{
	__u8 buf[SCAN_BYTES];
	const __u8 *code = buf;
	size_t len, size;
	uint64_t addr = vaddr;
	bool locked = false;
	cs_insn *insn;
	csh cs;
	int err = read_code(syms, vaddr, buf, &len);

	*out = vaddr;
	err = err ?: open_decoder(&cs);
	if (err)
		return err;
	insn = cs_malloc(cs);
	if (!insn) {
		cs_close(&cs);
		return -ENOMEM;
	}
	size = len;
	for (int i = 0; i < SCAN_INSNS && cs_disasm_iter(cs, &code, &size, &addr, insn); i++) {
		/* the probe fires before the instruction runs, so an emulated
		 * jump or push ends the scan as a good site */
		if (x86_code__is_emulated(insn->bytes, insn->size)) {
			*out = insn->address;
			break;
		}
		if (i == 0)
			locked = insn->detail->x86.prefix[0] == X86_PREFIX_LOCK;
		if (ends_scan(cs, insn, keep))
			break;
	}
	cs_free(insn, 1);
	cs_close(&cs);
	/* A uprobe on a lock-prefixed instruction is accepted and never fires
	 * (measured: 0 hits at `lock incq` starting tokio's park::clone, 5 on
	 * the jle after it): no site rather than a silent one. */
	return *out == vaddr && locked ? -ENOTSUP : 0;
}

int x86_code__cheap_probe_point(const struct elf_symbols *syms, __u64 vaddr, __u64 *out)
{
	return x86_code__cheap_point(syms, vaddr, 0, out);
}

int x86_code__cheap_entry_point(const struct elf_symbols *syms, __u64 vaddr, __u64 *out)
{
	return x86_code__cheap_point(syms, vaddr, X86_KEEP_ARG0, out);
}

/* The 64-bit register a write to r lands in (a 32-bit write clears the
 * upper half, a smaller one changes part): what a copy lives in. */
static x86_reg full_reg(x86_reg r)
{
	static const x86_reg family[][5] = {
		{X86_REG_RAX, X86_REG_EAX, X86_REG_AX, X86_REG_AL, X86_REG_AH},
		{X86_REG_RBX, X86_REG_EBX, X86_REG_BX, X86_REG_BL, X86_REG_BH},
		{X86_REG_RCX, X86_REG_ECX, X86_REG_CX, X86_REG_CL, X86_REG_CH},
		{X86_REG_RDX, X86_REG_EDX, X86_REG_DX, X86_REG_DL, X86_REG_DH},
		{X86_REG_RSI, X86_REG_ESI, X86_REG_SI, X86_REG_SIL},
		{X86_REG_RDI, X86_REG_EDI, X86_REG_DI, X86_REG_DIL},
		{X86_REG_RBP, X86_REG_EBP, X86_REG_BP, X86_REG_BPL},
		{X86_REG_RSP, X86_REG_ESP, X86_REG_SP, X86_REG_SPL},
		{X86_REG_R8, X86_REG_R8D, X86_REG_R8W, X86_REG_R8B},
		{X86_REG_R9, X86_REG_R9D, X86_REG_R9W, X86_REG_R9B},
		{X86_REG_R10, X86_REG_R10D, X86_REG_R10W, X86_REG_R10B},
		{X86_REG_R11, X86_REG_R11D, X86_REG_R11W, X86_REG_R11B},
		{X86_REG_R12, X86_REG_R12D, X86_REG_R12W, X86_REG_R12B},
		{X86_REG_R13, X86_REG_R13D, X86_REG_R13W, X86_REG_R13B},
		{X86_REG_R14, X86_REG_R14D, X86_REG_R14W, X86_REG_R14B},
		{X86_REG_R15, X86_REG_R15D, X86_REG_R15W, X86_REG_R15B},
	};

	for (size_t i = 0; i < sizeof(family) / sizeof(family[0]); i++)
		for (size_t j = 0; j < 5; j++)
			if (family[i][j] == r && r != X86_REG_INVALID)
				return family[i][0];
	return r;
}

/* A function that is only a jump through a vtable: its bytes at most */
#define VJUMP_MAX_BYTES 16
#define TRACE_BYTES 640 /* Acquire::poll's CLOSED test and shift: within 190 bytes (1.24, 1.53) */
#define TRACE_INSNS 160
#define TRACE_VALUES 64
#define TRACE_SLOTS 32
#define TRACE_HOPS 2

struct value_trace {
	struct x86_value v[TRACE_VALUES];
	__u8 hops[TRACE_VALUES];
	int n;
	int reg[X86_REG_ENDING]; /* the value each 64-bit register holds; -1: none */
	bool sp_known;		 /* rsp - rsp at entry is `sp` */
	__s64 sp, body_sp;	 /* body_sp: the lowest, the body's frame */
	struct trace_slot {
		__s64 at; /* from rsp at entry */
		int v;
		__u8 size;
	} slot[TRACE_SLOTS];
	int nslots;
};

static int held(const struct value_trace *t, x86_reg r)
{
	x86_reg f = full_reg(r);

	return f > X86_REG_INVALID && f < X86_REG_ENDING ? t->reg[f] : -1;
}

static struct trace_slot *slot_of(struct value_trace *t, const x86_op_mem *m, bool add)
{
	__s64 at = t->sp + m->disp;

	if (!t->sp_known || m->base != X86_REG_RSP || m->index != X86_REG_INVALID)
		return NULL;
	for (int i = 0; i < t->nslots; i++)
		if (t->slot[i].at == at)
			return &t->slot[i];
	if (!add || t->nslots == TRACE_SLOTS)
		return NULL;
	t->slot[t->nslots] = (struct trace_slot){.at = at, .v = -1};
	return &t->slot[t->nslots++];
}

/* A load (or compare, or store) through a register holding value `from`:
 * a new value, or -1 (not pointer-sized, too many, too many hops). */
static int add_value(struct value_trace *t, int from, const cs_insn *insn, const cs_x86_op *op)
{
	const cs_x86 *x = &insn->detail->x86;
	struct x86_value *v;

	if (t->v[from].size != 8)
		return -1;
	t->v[from].pointer = true;
	if (t->hops[from] >= TRACE_HOPS || t->n == TRACE_VALUES || op->mem.disp < 0)
		return -1;
	v = &t->v[t->n];
	*v = (struct x86_value){.from = from, .disp = (__u64)op->mem.disp, .size = op->size,
				.compare = insn->id == X86_INS_CMP || insn->id == X86_INS_TEST,
				.store = op->access == CS_AC_WRITE};
	if ((insn->id == X86_INS_TEST || insn->id == X86_INS_AND) && x->op_count == 2 &&
	    x->operands[1].type == X86_OP_IMM)
		v->mask = (__u64)x->operands[1].imm;
	t->hops[t->n] = t->hops[from] + 1;
	return t->n++;
}

static void note_shift(struct value_trace *t, int v, __s64 k)
{
	if (v >= 0 && !t->v[v].shift && k > 0 && k < 64)
		t->v[v].shift = (__u8)k;
}

/* What one instruction does with the values: new loads, tests, shifts;
 * the register it leaves a value in (*dst = that value), else -1. */
static x86_reg trace_uses(struct value_trace *t, const cs_insn *insn, int *dst)
{
	const cs_x86 *x = &insn->detail->x86;
	const cs_x86_op *op0 = &x->operands[0], *op1 = &x->operands[1];
	bool two = x->op_count == 2, load = false;
	x86_reg to = X86_REG_INVALID;

	switch (insn->id) {
	case X86_INS_MOV:
	case X86_INS_MOVZX:
	case X86_INS_MOVSX:
	case X86_INS_MOVSXD:
		load = two && op0->type == X86_OP_REG;
		break;
	case X86_INS_TEST:
	case X86_INS_AND:
		if (two && op0->type == X86_OP_REG && op1->type == X86_OP_IMM) {
			int v = held(t, op0->reg);

			if (v >= 0 && !t->v[v].mask)
				t->v[v].mask = (__u64)op1->imm;
		}
		break;
	case X86_INS_SHL:
	case X86_INS_SAL:
		if (op0->type == X86_OP_REG && (x->op_count == 1 || op1->type == X86_OP_IMM))
			note_shift(t, held(t, op0->reg), x->op_count == 1 ? 1 : op1->imm);
		break;
	case X86_INS_ADD: /* add r,r: r << 1 */
		if (two && op0->type == X86_OP_REG && op1->type == X86_OP_REG &&
		    full_reg(op0->reg) == full_reg(op1->reg))
			note_shift(t, held(t, op0->reg), 1);
		break;
	case X86_INS_LEA: { /* lea (r,r,1) or lea (,r,2^k): r << k; no access */
		const x86_op_mem *m = &op1->mem;

		if (two && m->disp == 0 && m->index != X86_REG_INVALID && m->base == m->index &&
		    m->scale == 1)
			note_shift(t, held(t, m->index), 1);
		else if (two && m->disp == 0 && m->base == X86_REG_INVALID && m->scale > 1)
			note_shift(t, held(t, m->index), __builtin_ctz((unsigned)m->scale));
		return X86_REG_INVALID;
	}
	}
	*dst = -1;
	for (__u8 k = 0; k < x->op_count; k++) {
		const cs_x86_op *op = &x->operands[k];
		int from, v;

		if (op->type != X86_OP_MEM || op->mem.segment != X86_REG_INVALID)
			continue;
		if (op->mem.base == X86_REG_RSP) {
			struct trace_slot *s = slot_of(t, &op->mem, op->access & CS_AC_WRITE);
			bool spill = insn->id == X86_INS_MOV && two && k == 0 && op->size >= 4 &&
				     op1->type == X86_OP_REG;

			if (s && (op->access & CS_AC_WRITE)) { /* a spill (32, 64 bits), or lost */
				s->v = spill ? held(t, op1->reg) : -1;
				s->size = op->size;
			} else if (s && s->v >= 0 && load && k == 1 && op->size == s->size) {
				*dst = s->v; /* a reload, as wide */
				to = op0->reg;
			}
			continue;
		}
		from = held(t, op->mem.base);
		if (from < 0 || op->mem.index != X86_REG_INVALID)
			continue;
		v = add_value(t, from, insn, op);
		if (load && k == 1 && v >= 0) {
			*dst = v;
			to = op0->reg;
		}
	}
	/* a copy: 64 bits, or 32 (an integer's low half: rustc zero-extends
	 * a u32 argument so) */
	if (insn->id == X86_INS_MOV && two && op0->type == X86_OP_REG && op1->type == X86_OP_REG) {
		int v = held(t, op1->reg);

		if (v >= 0 && op0->size >= 4) {
			*dst = v;
			to = op0->reg;
		}
	}
	return *dst >= 0 ? to : X86_REG_INVALID;
}

/* rsp's moves, as far as they are known: what the stack slots are told by. */
static void trace_sp(struct value_trace *t, const cs_insn *insn)
{
	const cs_x86 *x = &insn->detail->x86;
	bool imm = x->op_count == 2 && x->operands[0].type == X86_OP_REG &&
		   x->operands[0].reg == X86_REG_RSP && x->operands[1].type == X86_OP_IMM;

	switch (insn->id) {
	case X86_INS_PUSH:
		t->sp -= 8;
		break;
	case X86_INS_POP:
		t->sp += 8;
		break;
	case X86_INS_CALL:
		break;
	case X86_INS_RET: /* the code after an epilogue is the body's again */
		t->sp = t->body_sp;
		return;
	case X86_INS_SUB:
	case X86_INS_ADD:
		if (imm) {
			t->sp += insn->id == X86_INS_SUB ? -x->operands[1].imm : x->operands[1].imm;
			break;
		}
		/* fallthrough */
	default: /* any other write of rsp: slots no longer told apart */
		t->sp_known = false;
		t->nslots = 0;
		return;
	}
	if (t->sp < t->body_sp)
		t->body_sp = t->sp;
}

static bool writes_sp(csh cs, const cs_insn *insn)
{
	cs_regs rd, wr;
	__u8 nrd, nwr;

	if (insn->id == X86_INS_RET)
		return true;
	if (cs_regs_access(cs, insn, rd, &nrd, wr, &nwr))
		return true;
	for (__u8 i = 0; i < nwr; i++)
		if (wr[i] == X86_REG_RSP)
			return true;
	return false;
}

/* The size of the function symbol starting at vaddr, or 0 if none. */
static __u64 function_size(const struct elf_symbols *syms, __u64 vaddr)
{
	for (size_t i = 0, n = elf_symbols__count(syms); i < n; i++) {
		const struct elf_symbol *sym = elf_symbols__get(syms, i);

		if (sym->is_func && sym->vaddr == vaddr && sym->size)
			return sym->size;
	}
	return 0;
}

/* Up to *size bytes (at most TRACE_BYTES) of code at vaddr into buf: less
 * near the end of the text, where a shorter read still holds it. */
static int read_trace(const struct elf_symbols *syms, __u64 vaddr, __u8 *buf, size_t *size)
{
	if (!*size || *size > TRACE_BYTES)
		*size = TRACE_BYTES;
	while (*size >= 64 && elf_symbols__read(syms, vaddr, buf, *size))
		*size /= 2;
	return *size < 64 && elf_symbols__read(syms, vaddr, buf, *size) ? -EFAULT : 0;
}

int x86_code__arg_values(const struct elf_symbols *syms, __u64 vaddr, int arg,
			 struct x86_value *out, int max)
{
	static const x86_reg args[] = {X86_REG_RDI, X86_REG_RSI, X86_REG_RDX,
				       X86_REG_RCX, X86_REG_R8,	 X86_REG_R9};
	static const x86_reg clobbered[] = {X86_REG_RAX, X86_REG_RCX, X86_REG_RDX,
					    X86_REG_RSI, X86_REG_RDI, X86_REG_R8,
					    X86_REG_R9,	 X86_REG_R10, X86_REG_R11};
	struct value_trace *t;
	__u8 buf[TRACE_BYTES];
	const __u8 *code = buf;
	size_t size = 0;
	uint64_t addr = vaddr;
	cs_insn *insn;
	csh cs;
	int err = 0;

	if (arg < 0 || arg >= (int)(sizeof(args) / sizeof(args[0])) || max < 0)
		return -EINVAL;
	/* the function, if its symbol says where it ends */
	size = function_size(syms, vaddr);
	if (read_trace(syms, vaddr, buf, &size))
		return -EFAULT;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	memset(t->reg, 0xff, sizeof(t->reg));
	t->reg[args[arg]] = 0;
	t->v[0] = (struct x86_value){.from = -1, .size = 8};
	t->n = 1;
	t->sp_known = true;
	err = open_decoder(&cs);
	insn = err ? NULL : cs_malloc(cs);
	for (int i = 0; insn && i < TRACE_INSNS && cs_disasm_iter(cs, &code, &size, &addr, insn);
	     i++) {
		cs_regs rd, wr;
		__u8 nrd, nwr;
		int dst;
		x86_reg to = trace_uses(t, insn, &dst);

		if (cs_regs_access(cs, insn, rd, &nrd, wr, &nwr))
			break;
		for (__u8 k = 0; k < nwr; k++)
			if (full_reg(wr[k]) < X86_REG_ENDING)
				t->reg[full_reg(wr[k])] = -1;
		if (insn->id == X86_INS_CALL)
			for (size_t k = 0; k < sizeof(clobbered) / sizeof(clobbered[0]); k++)
				t->reg[clobbered[k]] = -1;
		if (to != X86_REG_INVALID)
			t->reg[full_reg(to)] = dst;
		if (t->sp_known && writes_sp(cs, insn))
			trace_sp(t, insn);
		else if (t->sp_known && insn->id == X86_INS_JMP) /* a tail call's epilogue before */
			t->sp = t->body_sp;
	}
	if (insn)
		cs_free(insn, 1);
	if (!err)
		cs_close(&cs);
	if (!err) {
		err = t->n < max ? t->n : max;
		if (err)
			memcpy(out, t->v, (size_t)err * sizeof(*out));
	}
	free(t);
	return err;
}

static __s32 rel32(const __u8 *p)
{
	__s32 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static bool is_slot(__u64 addr, const __u64 *slots, int nslots)
{
	for (int i = 0; i < nslots; i++)
		if (slots[i] == addr)
			return true;
	return false;
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

/* One of the targets, sorted? */
static bool is_target(__u64 addr, const __u64 *targets, int ntargets)
{
	return ntargets == 1 ? addr == targets[0]
			     : bsearch(&addr, targets, (size_t)ntargets, sizeof(addr), cmp_u64) != NULL;
}

/* A byte pattern that may be a call of a target, or a load of its pointer:
 * `call rel32`, `call *slot(%rip)`, `mov slot(%rip), %reg`. */
static bool may_refer(const __u8 *code, size_t size, __u64 base, const __u64 *targets,
		      int ntargets, const __u64 *slots, int nslots)
{
	for (size_t i = 0; i + 5 <= size; i++) {
		if (code[i] == 0xe8 && is_target(base + i + 5 + rel32(code + i + 1), targets, ntargets))
			return true;
		if (i + 7 <= size && (code[i] & 0xf0) == 0x40 && code[i + 1] == 0x8b &&
		    (code[i + 2] & 0xc7) == 0x05 && is_slot(base + i + 7 + rel32(code + i + 3), slots, nslots))
			return true;
		if (i + 6 <= size && code[i] == 0xff && code[i + 1] == 0x15 &&
		    is_slot(base + i + 6 + rel32(code + i + 2), slots, nslots))
			return true;
	}
	return false;
}

static bool rip_slot(const cs_insn *insn, const cs_x86_op *op, const __u64 *slots, int nslots)
{
	return op->type == X86_OP_MEM && op->mem.base == X86_REG_RIP &&
	       is_slot(insn->address + insn->size + op->mem.disp, slots, nslots);
}

/* Disassemble one function: the return address of each call of a target,
 * direct, through a slot, or through a register a slot was loaded into
 * (a loop may hoist the load). A register reused for something else only
 * adds a site where nothing needs ending: harmless. */
static int sweep(csh cs, cs_insn *insn, const __u8 *code, size_t size, __u64 base,
		 const __u64 *targets, int ntargets, const __u64 *slots, int nslots, __u64 *rets,
		 int n, int max)
{
	const __u8 *p = code;
	uint64_t addr = base;
	bool loaded[X86_REG_ENDING] = {false};

	while (cs_disasm_iter(cs, &p, &size, &addr, insn)) {
		const cs_x86 *x = &insn->detail->x86;
		bool hit = false;

		if (insn->id == X86_INS_MOV && x->op_count == 2 && x->operands[0].type == X86_OP_REG &&
		    rip_slot(insn, &x->operands[1], slots, nslots))
			loaded[x->operands[0].reg] = true;
		if (insn->id != X86_INS_CALL || x->op_count != 1)
			continue;
		if (x->operands[0].type == X86_OP_IMM)
			hit = is_target((__u64)x->operands[0].imm, targets, ntargets);
		else if (x->operands[0].type == X86_OP_REG)
			hit = loaded[x->operands[0].reg];
		else
			hit = rip_slot(insn, &x->operands[0], slots, nslots);
		if (!hit)
			continue;
		/* aliases of one function list the same site twice */
		bool seen = false;

		for (int j = 0; j < n && j < max; j++)
			seen |= rets[j] == insn->address + insn->size;
		if (!seen && n++ < max)
			rets[n - 1] = insn->address + insn->size;
	}
	return n;
}

/* What a search of every function looks for, and what it found so far. */
struct code_search {
	/* a cheap look at the bytes: worth disassembling? */
	bool (*may)(const struct code_search *q, const __u8 *code, size_t size, __u64 base);
	/* disassemble one function, adding what it finds: the new count */
	int (*sweep)(const struct code_search *q, csh cs, cs_insn *insn, const __u8 *code,
		     size_t size, __u64 base, int n);
	__u64 target, vt_off, slot_off;
	const __u64 *targets; /* calls: sorted */
	int ntargets;
	const __u64 *slots;
	int nslots;
	__u64 *rets;
	struct x86_fetch_add *adds;
	int max;
};

/* One function through q, if of a size worth it: the new count. */
static int search_one(const struct elf_symbols *syms, const struct code_search *q, csh cs,
		      cs_insn *insn, __u64 vaddr, __u64 size, __u8 **code, size_t *cap, int n)
{
	if (size > *cap) {
		__u8 *bigger = realloc(*code, size);

		if (!bigger)
			return n;
		*code = bigger;
		*cap = size;
	}
	if (!elf_symbols__read(syms, vaddr, *code, size) && q->may(q, *code, size, vaddr))
		n = q->sweep(q, cs, insn, *code, size, vaddr, n);
	return n;
}

/* Every function of the file of at least min_size bytes through q: how
 * many things q found (more than q->max: only max kept), or -errno. A
 * stripped binary's functions are its CFI's (cfi_functions.h). */
static int search_functions(const struct elf_symbols *syms, const struct code_search *q,
			    size_t min_size)
{
	bool by_cfi = !elf_symbols__has_symtab(syms);
	struct cfi_function *fns = NULL;
	size_t nsyms = elf_symbols__count(syms), cap = 0;
	__u8 *code = NULL;
	cs_insn *insn;
	csh cs;
	int n = 0, nfns = 0;

	if (by_cfi) {
		nfns = cfi_functions__list(elf_symbols__binary(syms), &fns);
		if (nfns < 0)
			return nfns == -ENOENT ? 0 : nfns;
		nsyms = (size_t)nfns;
	}
	if (open_decoder(&cs)) {
		free(fns);
		return -ENOMEM;
	}
	insn = cs_malloc(cs);
	for (size_t k = 0; insn && k < nsyms; k++) {
		const struct elf_symbol *sym = by_cfi ? NULL : elf_symbols__get(syms, k);
		__u64 vaddr = by_cfi ? fns[k].start : sym->vaddr;
		__u64 size = by_cfi ? fns[k].end - fns[k].start : sym->size;

		if ((sym && !sym->is_func) || size < min_size || size > (1 << 20))
			continue;
		n = search_one(syms, q, cs, insn, vaddr, size, &code, &cap, n);
	}
	if (insn)
		cs_free(insn, 1);
	cs_close(&cs);
	free(code);
	free(fns);
	return n;
}

static bool may_call(const struct code_search *q, const __u8 *code, size_t size, __u64 base)
{
	return may_refer(code, size, base, q->targets, q->ntargets, q->slots, q->nslots);
}

static int sweep_calls(const struct code_search *q, csh cs, cs_insn *insn, const __u8 *code,
		       size_t size, __u64 base, int n)
{
	return sweep(cs, insn, code, size, base, q->targets, q->ntargets, q->slots, q->nslots,
		     q->rets, n, q->max);
}

int x86_code__call_sites(const struct elf_symbols *syms, __u64 target, const __u64 *slots,
			 int nslots, __u64 *rets, int max)
{
	struct code_search q = {.may = may_call, .sweep = sweep_calls, .targets = &target,
				.ntargets = 1, .slots = slots, .nslots = nslots, .rets = rets,
				.max = max};

	return search_functions(syms, &q, 5);
}

int x86_code__calls_of(const struct elf_symbols *syms, const __u64 *targets, int ntargets,
		       const __u64 *slots, int nslots, __u64 *rets, int max)
{
	__u64 *sorted = malloc((size_t)(ntargets > 0 ? ntargets : 1) * sizeof(*sorted));
	struct code_search q = {.may = may_call, .sweep = sweep_calls, .targets = sorted,
				.ntargets = ntargets, .slots = slots, .nslots = nslots,
				.rets = rets, .max = max};
	int n;

	if (!sorted)
		return -ENOMEM;
	if (ntargets > 0) {
		memcpy(sorted, targets, (size_t)ntargets * sizeof(*sorted));
		qsort(sorted, (size_t)ntargets, sizeof(*sorted), cmp_u64);
	}
	n = ntargets > 0 ? search_functions(syms, &q, 5) : 0;
	free(sorted);
	return n;
}

int x86_code__direct_call_sites(const struct elf_symbols *syms, const __u64 *targets, int ntargets,
				__u64 *rets, int max)
{
	return x86_code__calls_of(syms, targets, ntargets, NULL, 0, rets, max);
}

int x86_code__call_args(const struct elf_symbols *syms, __u64 fn, __u64 ret,
			struct x86_call_arg out[6])
{
	static const x86_reg args[] = {X86_REG_RDI, X86_REG_RSI, X86_REG_RDX,
				       X86_REG_RCX, X86_REG_R8,	 X86_REG_R9};
	enum { NARGS = sizeof(args) / sizeof(args[0]) };
	struct x86_call_arg held[X86_REG_ENDING];
	size_t size = ret > fn && ret - fn <= (1 << 20) ? ret - fn : 0;
	__u8 *code = size ? malloc(size) : NULL;
	const __u8 *p = code;
	uint64_t addr = fn;
	int err = -ENOENT;
	cs_insn *insn = NULL;
	csh cs;

	for (int r = 0; r < X86_REG_ENDING; r++)
		held[r] = (struct x86_call_arg){0, -1};
	for (int i = 0; i < NARGS; i++)
		held[args[i]].from_arg = i;
	if (!code)
		return size ? -ENOMEM : -ENOENT;
	if (elf_symbols__read(syms, fn, code, size) || open_decoder(&cs)) {
		free(code);
		return -EFAULT;
	}
	insn = cs_malloc(cs);
	while (insn && cs_disasm_iter(cs, &p, &size, &addr, insn)) {
		const cs_x86 *x = &insn->detail->x86;
		const cs_x86_op *dst = &x->operands[0], *src = &x->operands[1];
		cs_regs rd, wr;
		__u8 nrd, nwr;

		if (insn->id == X86_INS_CALL && insn->address + insn->size == ret) {
			for (int i = 0; i < NARGS; i++)
				out[i] = held[args[i]];
			err = 0;
			break;
		}
		if (cs_regs_access(cs, insn, rd, &nrd, wr, &nwr))
			nwr = 0;
		for (__u8 k = 0; k < nwr; k++)
			if (full_reg(wr[k]) < X86_REG_ENDING)
				held[full_reg(wr[k])] = (struct x86_call_arg){0, -1};
		if (insn->id == X86_INS_CALL) /* an earlier call's arguments are gone */
			for (int i = 0; i < NARGS; i++)
				held[args[i]] = (struct x86_call_arg){0, -1};
		if (x->op_count != 2 || dst->type != X86_OP_REG || dst->reg >= X86_REG_ENDING)
			continue;
		if (insn->id == X86_INS_LEA && src->mem.base == X86_REG_RIP &&
		    src->mem.index == X86_REG_INVALID)
			held[dst->reg].addr = insn->address + insn->size + src->mem.disp;
		else if (insn->id == X86_INS_MOV && src->type == X86_OP_REG && src->size == 8 &&
			 src->reg < X86_REG_ENDING) /* a loop keeps it in a callee-saved register */
			held[dst->reg] = held[src->reg];
	}
	if (insn)
		cs_free(insn, 1);
	cs_close(&cs);
	free(code);
	return err;
}

bool x86_code__follows_call(const struct elf_symbols *syms, __u64 vaddr)
{
	__u8 b[7];

	if (vaddr < sizeof(b) || elf_symbols__read(syms, vaddr - sizeof(b), b, sizeof(b)))
		return false;
	/* ModRM reg field 2 (/2) is call in opcode 0xff */
#define CALL_MODRM(m) (((m) & 0x38) == 0x10)
	return b[2] == 0xe8 ||						  /* call rel32 */
	       (b[1] == 0xff && CALL_MODRM(b[2]) && (b[2] & 0xc7) == 0x05) || /* *disp32(%rip) */
	       (b[5] == 0xff && CALL_MODRM(b[6]) && (b[6] & 0xc0) == 0xc0) || /* *%reg */
	       (b[4] == 0xff && CALL_MODRM(b[5]) && (b[5] & 0xc0) == 0x40) || /* *disp8(%reg) */
	       (b[1] == 0xff && CALL_MODRM(b[2]) && (b[2] & 0xc0) == 0x80) || /* *disp32(%reg) */
	       (b[5] == 0xff && CALL_MODRM(b[6]) && (b[6] & 0xc0) == 0x00);   /* *(%reg) */
#undef CALL_MODRM
}

/* x86's number of a 64-bit general register (rax 0, rcx 1, ... r15 15), or -1. */
static int gpr_number(x86_reg r)
{
	static const x86_reg order[] = {
		X86_REG_RAX, X86_REG_RCX, X86_REG_RDX, X86_REG_RBX, X86_REG_RSP, X86_REG_RBP,
		X86_REG_RSI, X86_REG_RDI, X86_REG_R8,  X86_REG_R9,  X86_REG_R10, X86_REG_R11,
		X86_REG_R12, X86_REG_R13, X86_REG_R14, X86_REG_R15,
	};

	for (int i = 0; i < (int)(sizeof(order) / sizeof(order[0])); i++)
		if (order[i] == r)
			return i;
	return -1;
}

/* A rip-relative disp32 ending an instruction that addresses target. */
static bool may_address(const __u8 *code, size_t size, __u64 base, __u64 target)
{
	for (size_t i = 0; i + 4 <= size; i++)
		if (base + i + 4 + rel32(code + i) == target)
			return true;
	return false;
}

/* What a register holds, as far as a linear sweep tells. */
struct reg_addr {
	__u64 at;      /* from `lea at(%rip)`, or with slot `mov at(%rip)`: 0 none */
	bool slot;
	bool one;      /* `mov $1` */
};

/* Is this xadd's atomic the one q looks for (any, for counters)? */
static bool xadd_wanted(const struct code_search *q, const struct x86_fetch_add *a)
{
	if (!q->target)
		return a->adds_one;
	return a->via_slot ? is_slot(a->atomic, q->slots, q->nslots) : a->atomic == q->target;
}

/* Disassemble one function: each `lock xadd %reg, mem` on an 8-byte atomic
 * addressed rip-relative or through a register `lea`'d or loaded from a
 * slot with its address, as the instruction after it, reg and the atomic.
 * A register written since it got the address holds it no more. */
static int sweep_xadds(const struct code_search *q, csh cs, cs_insn *insn, const __u8 *code,
		       size_t size, __u64 base, int n)
{
	const __u8 *p = code;
	uint64_t addr = base;
	struct reg_addr regs[X86_REG_ENDING] = {0};
	struct x86_fetch_add pending = {0}; /* an xadd just seen: the next instruction is the site */

	while (cs_disasm_iter(cs, &p, &size, &addr, insn)) {
		const cs_x86 *x = &insn->detail->x86;
		const cs_x86_op *m = &x->operands[0], *src = &x->operands[1];
		cs_regs rd, wr;
		__u8 nrd, nwr;
		bool seen = false;

		/* aliases of one function list the same site twice */
		for (int j = 0; pending.len && j < n && j < q->max; j++)
			seen |= q->adds[j].after == insn->address;
		if (pending.len && !seen && x->prefix[0] != X86_PREFIX_LOCK && n++ < q->max) {
			pending.after = insn->address;
			q->adds[n - 1] = pending;
		}
		pending.len = 0;
		if (insn->id == X86_INS_XADD && x->prefix[0] == X86_PREFIX_LOCK && x->op_count == 2 &&
		    m->type == X86_OP_MEM && m->size == 8 && src->type == X86_OP_REG &&
		    m->mem.index == X86_REG_INVALID &&
		    (m->mem.base == X86_REG_RIP ||
		     (m->mem.base < X86_REG_ENDING && regs[m->mem.base].at && m->mem.disp == 0))) {
			bool rip = m->mem.base == X86_REG_RIP;
			struct x86_fetch_add a = {
				.atomic = rip ? insn->address + insn->size + m->mem.disp
					      : regs[m->mem.base].at,
				.reg = (__u8)gpr_number(src->reg), .len = insn->size,
				.via_slot = !rip && regs[m->mem.base].slot,
				.adds_one = src->reg < X86_REG_ENDING && regs[src->reg].one};

			if (xadd_wanted(q, &a))
				pending = a;
		}
		if (cs_regs_access(cs, insn, rd, &nrd, wr, &nwr))
			nwr = 0;
		for (__u8 k = 0; k < nwr; k++)
			if (full_reg(wr[k]) < X86_REG_ENDING)
				regs[full_reg(wr[k])] = (struct reg_addr){0};
		if (x->op_count != 2 || m->type != X86_OP_REG || full_reg(m->reg) >= X86_REG_ENDING)
			continue;
		if ((insn->id == X86_INS_LEA || insn->id == X86_INS_MOV) && src->type == X86_OP_MEM &&
		    src->mem.base == X86_REG_RIP && src->mem.index == X86_REG_INVALID)
			regs[m->reg] = (struct reg_addr){
				.at = insn->address + insn->size + src->mem.disp,
				.slot = insn->id == X86_INS_MOV};
		else if (insn->id == X86_INS_MOV && src->type == X86_OP_IMM && src->imm == 1)
			regs[full_reg(m->reg)].one = true; /* `mov $1, %r32` zero-extends */
	}
	return n;
}

static bool may_xadd(const struct code_search *q, const __u8 *code, size_t size, __u64 base)
{
	bool refers = may_address(code, size, base, q->target);

	for (int s = 0; s < q->nslots && !refers; s++)
		refers = may_address(code, size, base, q->slots[s]);
	return refers;
}

/* `lock` REX.W `xadd`: f0 48..4f 0f c1 */
static bool may_add_counter(const struct code_search *q, const __u8 *code, size_t size, __u64 base)
{
	for (size_t i = 0; i + 4 <= size; i++)
		if (code[i] == 0xf0 && (code[i + 1] & 0xf8) == 0x48 && code[i + 2] == 0x0f &&
		    code[i + 3] == 0xc1)
			return true;
	return false;
}

int x86_code__fetch_add_sites(const struct elf_symbols *syms, __u64 target, const __u64 *slots,
			      int nslots, struct x86_fetch_add *out, int max)
{
	struct code_search q = {.may = may_xadd, .sweep = sweep_xadds, .target = target,
				.slots = slots, .nslots = nslots, .adds = out, .max = max};

	return search_functions(syms, &q, 8);
}

int x86_code__counter_adds(const struct elf_symbols *syms, struct x86_fetch_add *out, int max)
{
	struct code_search q = {.may = may_add_counter, .sweep = sweep_xadds, .adds = out,
				.max = max};

	return search_functions(syms, &q, 8);
}

/* A `call *disp(%reg)` with this disp (FF /2, disp8 or disp32, no SIB). */
static bool may_vcall(const __u8 *code, size_t size, __u64 disp)
{
	for (size_t i = 0; i + 3 <= size; i++) {
		__u8 m = code[i + 1];

		if (code[i] != 0xff || (m & 0x38) != 0x10 || (m & 7) == 4)
			continue;
		/* `call *(%reg)`: slot 0 (rm 5 there is rip-relative) */
		if ((m & 0xc0) == 0 && disp == 0 && (m & 7) != 5)
			return true;
		if ((m & 0xc0) == 0x40 && disp < 0x80 && code[i + 2] == disp)
			return true;
		if ((m & 0xc0) == 0x80 && i + 6 <= size && (__u64)rel32(code + i + 2) == disp)
			return true;
	}
	return false;
}

/* Disassemble one function: the return address of each `call
 * *slot_off(%reg)` whose %reg was loaded from vt_off(%any) and not written
 * since. */
static int sweep_vcalls(csh cs, cs_insn *insn, const __u8 *code, size_t size, __u64 base,
			__u64 vt_off, __u64 slot_off, __u64 *rets, int n, int max)
{
	const __u8 *p = code;
	uint64_t addr = base;
	bool holds[X86_REG_ENDING] = {false};

	while (cs_disasm_iter(cs, &p, &size, &addr, insn)) {
		const cs_x86 *x = &insn->detail->x86;
		const cs_x86_op *op = &x->operands[0];
		cs_regs rd, wr;
		__u8 nrd, nwr;
		bool seen = false;

		if (insn->id == X86_INS_CALL && x->op_count == 1 && op->type == X86_OP_MEM &&
		    op->mem.index == X86_REG_INVALID && op->mem.base < X86_REG_ENDING &&
		    holds[op->mem.base] && (__u64)op->mem.disp == slot_off) {
			for (int j = 0; j < n && j < max; j++)
				seen |= rets[j] == insn->address + insn->size;
			if (!seen && n++ < max)
				rets[n - 1] = insn->address + insn->size;
		}
		if (cs_regs_access(cs, insn, rd, &nrd, wr, &nwr))
			nwr = 0;
		for (__u8 k = 0; k < nwr; k++)
			if (full_reg(wr[k]) < X86_REG_ENDING)
				holds[full_reg(wr[k])] = false;
		if (insn->id == X86_INS_MOV && x->op_count == 2 && op->type == X86_OP_REG &&
		    op->size == 8 && x->operands[1].type == X86_OP_MEM &&
		    x->operands[1].mem.index == X86_REG_INVALID &&
		    x->operands[1].mem.base != X86_REG_RIP && (__u64)x->operands[1].mem.disp == vt_off)
			holds[op->reg] = true;
	}
	return n;
}

static bool may_vcalls(const struct code_search *q, const __u8 *code, size_t size, __u64 base)
{
	return may_vcall(code, size, q->slot_off);
}

static int sweep_vcall(const struct code_search *q, csh cs, cs_insn *insn, const __u8 *code,
		       size_t size, __u64 base, int n)
{
	return sweep_vcalls(cs, insn, code, size, base, q->vt_off, q->slot_off, q->rets, n, q->max);
}

int x86_code__vcall_sites(const struct elf_symbols *syms, __u64 vt_off, __u64 slot_off,
			  __u64 *rets, int max)
{
	struct code_search q = {.may = may_vcalls, .sweep = sweep_vcall, .vt_off = vt_off,
				.slot_off = slot_off, .rets = rets, .max = max};

	return search_functions(syms, &q, 3);
}

static __u64 disp_of(const __u8 *c, int mod)
{
	return mod == 0 ? 0 : mod == 1 ? c[0] : (__u64)(__u32)rel32(c);
}

/* `mov vt_off(%rdi), %reg; jmp *slot_off(%reg)` (or a call), maybe inside
 * a frame pointer's push/pop, in the len bytes at c. */
static bool parse_vtable_jump(const __u8 *c, size_t len, __u64 *vt_off, __u64 *slot_off)
{
	size_t i = 0;
	int reg, mod, op;

	if (len < 24)
		return false;
	if (c[i] == 0x55) /* push %rbp; mov %rsp, %rbp */
		i += c[i + 1] == 0x48 && c[i + 2] == 0x89 && c[i + 3] == 0xe5 ? 4 : 1;
	/* REX.W 8b /r with rm = rdi: mov disp(%rdi), r64 */
	mod = c[i + 2] >> 6;
	reg = (c[i + 2] >> 3) & 7;
	if (c[i] != 0x48 || c[i + 1] != 0x8b || (c[i + 2] & 7) != 7 || mod == 3)
		return false;
	*vt_off = disp_of(&c[i + 3], mod);
	i += 3 + (mod == 1 ? 1 : mod == 2 ? 4 : 0);
	if (c[i] == 0x5d) /* pop %rbp */
		i++;
	/* ff /4 (jmp) or ff /2 (call) through disp(%reg); rsp, rbp encode
	 * differently */
	mod = c[i + 1] >> 6;
	op = (c[i + 1] >> 3) & 7;
	if (c[i] != 0xff || (c[i + 1] & 7) != reg || reg == 4 || reg == 5 || mod == 3 ||
	    (op != 4 && op != 2))
		return false;
	*slot_off = disp_of(&c[i + 2], mod);
	return *vt_off % 8 == 0 && *slot_off % 8 == 0;
}

bool x86_code__vtable_jump(const struct elf_symbols *syms, __u64 vaddr, __u64 *vt_off,
			   __u64 *slot_off)
{
	__u8 c[32];

	return !elf_symbols__read(syms, vaddr, c, sizeof(c)) &&
	       parse_vtable_jump(c, sizeof(c), vt_off, slot_off);
}

static bool may_vjump(const struct code_search *q, const __u8 *code, size_t size, __u64 base)
{
	__u8 c[32] = {0};
	__u64 vt_off, slot_off;

	memcpy(c, code, size < sizeof(c) ? size : sizeof(c));
	return size <= VJUMP_MAX_BYTES && parse_vtable_jump(c, sizeof(c), &vt_off, &slot_off) &&
	       slot_off == q->slot_off;
}

static int add_vjump(const struct code_search *q, csh cs, cs_insn *insn, const __u8 *code,
		     size_t size, __u64 base, int n)
{
	if (n < q->max)
		q->rets[n] = base;
	return n + 1;
}

int x86_code__vtable_jumps(const struct elf_symbols *syms, __u64 slot_off, __u64 *out, int max)
{
	struct code_search q = {.may = may_vjump, .sweep = add_vjump, .slot_off = slot_off,
				.rets = out, .max = max};

	return search_functions(syms, &q, 5);
}

__u64 x86_code__thunk_target(const struct elf_symbols *syms, __u64 vaddr, bool *via_slot)
{
	__u8 buf[TRACE_BYTES];
	const __u8 *code = buf;
	size_t size;
	uint64_t addr = vaddr;
	__u64 target = vaddr;
	cs_insn *insn;
	csh cs;

	*via_slot = false;
	size = TRACE_BYTES;
	if (read_trace(syms, vaddr, buf, &size) || open_decoder(&cs))
		return vaddr;
	insn = cs_malloc(cs);
	/* a frame-pointer build wraps it: push %rbp; mov %rsp,%rbp; pop %rbp */
	for (int i = 0; insn && i < 4 && cs_disasm_iter(cs, &code, &size, &addr, insn); i++) {
		const cs_x86 *x = &insn->detail->x86;

		if (insn->id == X86_INS_JMP && x->op_count == 1 && x->operands[0].type == X86_OP_IMM) {
			target = (__u64)x->operands[0].imm;
			break;
		}
		if (insn->id == X86_INS_JMP && x->op_count == 1 && x->operands[0].type == X86_OP_MEM &&
		    x->operands[0].mem.base == X86_REG_RIP && x->operands[0].mem.index == X86_REG_INVALID) {
			target = insn->address + insn->size + (__u64)x->operands[0].mem.disp;
			*via_slot = true;
			break;
		}
		if (!((insn->id == X86_INS_PUSH || insn->id == X86_INS_POP) && x->op_count == 1 &&
		      x->operands[0].type == X86_OP_REG && x->operands[0].reg == X86_REG_RBP) &&
		    !(insn->id == X86_INS_MOV && x->op_count == 2 && x->operands[0].type == X86_OP_REG &&
		      x->operands[0].reg == X86_REG_RBP && x->operands[1].type == X86_OP_REG &&
		      x->operands[1].reg == X86_REG_RSP))
			break;
	}
	if (insn)
		cs_free(insn, 1);
	cs_close(&cs);
	return target;
}

int x86_code__rip_refs(const struct elf_symbols *syms, __u64 vaddr, int max_insns,
		       struct x86_rip_ref *out, int max, struct x86_arg0_use *use)
{
	__u8 buf[TRACE_BYTES];
	const __u8 *code = buf;
	size_t size;
	uint64_t addr = vaddr;
	bool holds_arg0[X86_REG_ENDING] = {false};
	cs_insn *insn;
	csh cs;
	int n = 0, seen = 0;

	*use = (struct x86_arg0_use){0};
	size = TRACE_BYTES;
	if (read_trace(syms, vaddr, buf, &size))
		return -EFAULT;
	if (open_decoder(&cs))
		return -ENOMEM;
	insn = cs_malloc(cs);
	holds_arg0[X86_REG_RDI] = true;
	while (insn && seen++ < max_insns && cs_disasm_iter(cs, &code, &size, &addr, insn)) {
		const cs_x86 *x = &insn->detail->x86;
		const cs_x86_op *dst = x->op_count >= 1 ? &x->operands[0] : NULL;
		const cs_x86_op *src = x->op_count == 2 ? &x->operands[1] : NULL;

		/* a lock'd read-modify-write of the word arg0 points at */
		if (x->prefix[0] == X86_PREFIX_LOCK && dst && dst->type == X86_OP_MEM &&
		    dst->mem.base < X86_REG_ENDING && holds_arg0[dst->mem.base] && !dst->mem.disp &&
		    dst->mem.index == X86_REG_INVALID)
			use->rmw = true;
		/* the first call made with the first argument as its own */
		if (insn->id == X86_INS_CALL && dst && !use->call && holds_arg0[X86_REG_RDI]) {
			if (dst->type == X86_OP_IMM)
				use->call = (__u64)dst->imm;
			else if (dst->type == X86_OP_MEM && dst->mem.base == X86_REG_RIP)
				use->call = insn->address + insn->size + (__u64)dst->mem.disp,
				use->call_via_slot = true;
		}
		if (insn->id == X86_INS_CALL) /* rdi is the callee's to clobber */
			holds_arg0[X86_REG_RDI] = false;
		if (insn->id == X86_INS_MOV && src && dst->type == X86_OP_REG &&
		    dst->reg < X86_REG_ENDING)
			holds_arg0[dst->reg] = src->type == X86_OP_REG && src->reg < X86_REG_ENDING &&
					       holds_arg0[src->reg];
		if (insn->id == X86_INS_CALL && dst && dst->type == X86_OP_IMM) {
			if (n < max)
				out[n] = (struct x86_rip_ref){.addr = (__u64)dst->imm, .call = true};
			n++;
			continue;
		}
		if (insn->id == X86_INS_CALL && dst && dst->type == X86_OP_MEM)
			src = dst;
		else if ((insn->id != X86_INS_LEA && insn->id != X86_INS_MOV) || !src)
			continue;
		if (src->type != X86_OP_MEM || src->mem.base != X86_REG_RIP ||
		    src->mem.index != X86_REG_INVALID)
			continue;
		if (n < max)
			out[n] = (struct x86_rip_ref){
				.addr = insn->address + insn->size + (__u64)src->mem.disp,
				.loaded = insn->id != X86_INS_LEA && src->size == 8,
				.call = insn->id == X86_INS_CALL};
		n++;
	}
	if (insn)
		cs_free(insn, 1);
	cs_close(&cs);
	return n;
}
