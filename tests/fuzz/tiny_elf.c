/*
 * The fuzz_elf seeds: a tiny static ELF with Rust-mangled symbols (legacy
 * and v0), a pointer slot, DWARF and CFI, built with
 *   gcc -Os -g1 -static -nostdlib -fno-pie -no-pie -fasynchronous-unwind-tables \
 *       -Wl,-z,noseparate-code -Wl,--build-id=none tiny_elf.c -o static-g1
 *   gcc -O2 -g (the same) -o static-g2
 *   gcc -Os -static-pie -nostdlib -fpie (the same, no -g) + strip: static-pie-stripped
 */
static volatile int sink;
__attribute__((noinline)) void poll_fn(int x) __asm__("_ZN5tokio7runtime4task3raw4poll17h0123456789abcdefE");
__attribute__((noinline)) void poll_fn(int x) { sink = x; }
__attribute__((noinline)) void spawn_fn(int x) __asm__("_RNvNtCs1234_5tokio7runtime5spawn");
__attribute__((noinline)) void spawn_fn(int x) { poll_fn(x + 1); }
const char where[] = "src/main.rs";
void *const slot = (void *)poll_fn;
void _start(void)
{
	spawn_fn(where[0]);
	__asm__ volatile("mov $60, %eax; xor %edi, %edi; syscall");
}
