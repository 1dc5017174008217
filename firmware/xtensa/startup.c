/* The self-test's start-up code and semihosting on QEMU's Xtensa sim machine: zero .bss, run
 * the constructors, call main, exit with its status; report a fault. Semihosting is the
 * `simcall` instruction: a2 holds the call (1 exit, 4 write), a3..a5 its arguments. What every
 * target shares (checks, numbers, mem*) is in ../selftest_support.c. No C library. */
#include <stddef.h>
#include <stdint.h>

#include "semihost.h"

/* Symbols of sim.ld. */
extern uint32_t __bss_start[], __bss_end[];
typedef void (*fw_init_fn)(void);
extern fw_init_fn __init_array_start[], __init_array_end[];

int main(void);
__attribute__((noreturn)) void xt_main(void);
__attribute__((noreturn)) void xt_fault(void);

enum { sim_exit = 1, sim_write = 4 };

static int simcall(int call, int a, int b, int c) {
  register int a2 __asm__("a2") = call;
  register int a3 __asm__("a3") = a;
  register int a4 __asm__("a4") = b;
  register int a5 __asm__("a5") = c;
  __asm__ volatile("simcall" : "+r"(a2), "+r"(a3) : "r"(a4), "r"(a5) : "memory");
  return a2;
}

void fw_print(const char *s) {
  size_t n = 0;
  while (s[n] != '\0') ++n;
  (void)simcall(sim_write, 1, (int)(uintptr_t)s, (int)n);
}

void fw_exit(int status) {
  (void)simcall(sim_exit, status, 0, 0);
  for (;;) {
  }
}

void xt_main(void) {
  /* volatile: keeps GCC from turning the loop into a memset call. */
  for (volatile uint32_t *p = __bss_start; p < __bss_end;) *p++ = 0;
  for (fw_init_fn *f = __init_array_start; f < __init_array_end; ++f) (*f)();
  fw_exit(main());
}

void xt_fault(void) {
  uint32_t cause, pc;
  __asm__ volatile("rsr.exccause %0" : "=a"(cause));
  __asm__ volatile("rsr.epc1 %0" : "=a"(pc));
  fw_print("fault: the self-test crashed, exception cause ");
  fw_print_uint(cause);
  fw_print(" at pc ");
  fw_print_uint(pc);
  fw_print("\n");
  fw_exit(1);
}
