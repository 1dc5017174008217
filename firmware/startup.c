/* Start-up code for the self-test image on QEMU's mps2-an386 (Cortex-M4): the vector table,
 * the reset handler (copy .data, zero .bss, run constructors, call main, exit), fault handlers
 * that report through semihosting, and the semihosting calls themselves. What every target
 * shares (checks, numbers, mem*) is in selftest_support.c. No C library. */
#include <stddef.h>
#include <stdint.h>

#include "semihost.h"

/* Symbols of mps2-an386.ld. */
extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[];
extern uint32_t __stack_top[];
typedef void (*fw_init_fn)(void);
extern fw_init_fn __init_array_start[], __init_array_end[];

int main(void);
__attribute__((noreturn)) void fw_reset(void);
__attribute__((noreturn)) void fw_fault(void);

/* Semihosting operations and the exit reasons of SYS_EXIT. */
enum { sys_write0 = 0x04, sys_exit = 0x18 };
enum { adp_application_exit = 0x20026, adp_runtime_error = 0x20023 };

static int semihost(int op, const void *arg) {
  register int r0 __asm__("r0") = op;
  register const void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

void fw_print(const char *s) { (void)semihost(sys_write0, s); }

void fw_exit(int status) {
  /* On 32-bit ARM the reason code is the argument itself. */
  (void)semihost(sys_exit, (const void *)(uintptr_t)(status == 0 ? adp_application_exit : adp_runtime_error));
  for (;;) {
  }
}

void fw_reset(void) {
  /* volatile: keeps GCC from turning the loops into memcpy/memset calls. */
  volatile uint32_t *dst = __data_start;
  const volatile uint32_t *src = __data_load;
  while (dst < __data_end) *dst++ = *src++;
  for (dst = __bss_start; dst < __bss_end;) *dst++ = 0;
  for (fw_init_fn *f = __init_array_start; f < __init_array_end; ++f) (*f)();
  fw_exit(main());
}

void fw_fault(void) {
  fw_print("fault: the self-test crashed\n");
  fw_exit(1);
}

/* The Cortex-M vector table: initial stack pointer, then the handlers of exceptions 1 to 15. */
struct fw_vector_table {
  uint32_t *stack_top;
  void (*handlers[15])(void);
};

__attribute__((section(".vectors"), used)) const struct fw_vector_table fw_vectors = {
    __stack_top,
    {
        fw_reset, /* reset */
        fw_fault, /* NMI */
        fw_fault, /* hard fault */
        fw_fault, /* memory management fault */
        fw_fault, /* bus fault */
        fw_fault, /* usage fault */
        NULL, NULL, NULL, NULL,
        fw_fault, /* SVCall */
        fw_fault, /* debug monitor */
        NULL,
        fw_fault, /* PendSV */
        fw_fault, /* SysTick */
    },
};
