// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <capstone/capstone.h>
#include "elf_symbols.h"
#include "x86_code.h"

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

static bool changes_flow_or_sp(csh cs, const cs_insn *insn)
{
	cs_regs rd, wr;
	__u8 nrd, nwr;

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
	if (cs_regs_access(cs, insn, rd, &nrd, wr, &nwr))
		return true; /* cannot tell: assume the worst */
	for (__u8 i = 0; i < nwr; i++)
		if (wr[i] == X86_REG_RSP || wr[i] == X86_REG_RIP)
			return true;
	return false;
}

int x86_code__cheap_probe_point(const struct elf_symbols *syms, __u64 vaddr, __u64 *out)
{
	__u8 buf[SCAN_BYTES];
	const __u8 *code = buf;
	size_t len, size;
	uint64_t addr = vaddr;
	cs_insn *insn;
	csh cs;
	int err = read_code(syms, vaddr, buf, &len);

	*out = vaddr;
	if (err)
		return err;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return -ENOMEM;
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
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
		if (changes_flow_or_sp(cs, insn))
			break;
	}
	cs_free(insn, 1);
	cs_close(&cs);
	return 0;
}

int x86_code__first_load_offset(const struct elf_symbols *syms, __u64 vaddr, __u64 *disp)
{
	__u8 buf[SCAN_BYTES];
	size_t len;
	cs_insn *insn = NULL;
	csh cs;
	int err = read_code(syms, vaddr, buf, &len);

	if (err)
		return err;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return -ENOMEM;
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	err = -ENOENT;
	if (cs_disasm(cs, buf, len, vaddr, 1, &insn) == 1 && insn->id == X86_INS_MOV) {
		const cs_x86 *x = &insn->detail->x86;

		if (x->op_count == 2 && x->operands[0].type == X86_OP_REG &&
		    x->operands[1].type == X86_OP_MEM && x->operands[1].mem.base == X86_REG_RDI &&
		    x->operands[1].mem.index == X86_REG_INVALID && x->operands[1].mem.disp >= 0 &&
		    x->operands[1].mem.segment == X86_REG_INVALID) {
			*disp = (__u64)x->operands[1].mem.disp;
			err = 0;
		}
	}
	if (insn)
		cs_free(insn, 1);
	cs_close(&cs);
	return err;
}
