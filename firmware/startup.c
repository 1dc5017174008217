/* Start-up code for the self-test image on QEMU's mps2-an386 (Cortex-M4): the vector table,
 * the reset handler (copy .data, zero .bss, run constructors, call main, exit), fault handlers
 * that report through semihosting, the semihosting calls themselves, and memcpy, memmove,
 * memset and memcmp. No C library. */
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

void fw_print_uint(unsigned long v) {
  char buf[24];
  size_t i = sizeof buf - 1;
  buf[i] = '\0';
  do {
    buf[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  fw_print(&buf[i]);
}

void fw_exit(int status) {
  /* On 32-bit ARM the reason code is the argument itself. */
  (void)semihost(sys_exit, (const void *)(uintptr_t)(status == 0 ? adp_application_exit : adp_runtime_error));
  for (;;) {
  }
}

static unsigned passed, failed;

void fw_check(int ok, const char *what, const char *file, int line) {
  if (ok) {
    ++passed;
    return;
  }
  ++failed;
  fw_print(file);
  fw_print(":");
  fw_print_uint((unsigned long)line);
  fw_print(": check failed: ");
  fw_print(what);
  fw_print("\n");
}

unsigned fw_passed(void) { return passed; }

/* The four functions GCC may call in any freestanding program (for aggregate copies and
 * clears); this file is compiled with -fno-tree-loop-distribute-patterns so that these loops
 * stay loops. */
void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  while (n-- != 0) *d++ = *s++;
  return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  if (d < s) {
    while (n-- != 0) *d++ = *s++;
  } else {
    while (n-- != 0) d[n] = s[n];
  }
  return dst;
}

void *memset(void *dst, int c, size_t n) {
  unsigned char *d = dst;
  while (n-- != 0) *d++ = (unsigned char)c;
  return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
  const unsigned char *x = a, *y = b;
  for (; n != 0; --n, ++x, ++y)
    if (*x != *y) return *x < *y ? -1 : 1;
  return 0;
}
unsigned fw_failed(void) { return failed; }

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
