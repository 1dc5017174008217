/* Runtime routines the self-test image needs and the lx106's libgcc lacks: on an ESP8266 the
 * boot ROM supplies them, and the ACE cores (LX7, hardware divide and atomics) never call them.
 * The library does not depend on this file: only the test image links it.
 *
 *  - 32- and 64-bit unsigned division and remainder, and the 64-bit products, by shift and add;
 *  - the one-byte atomic exchange of vmh::spin_lock: the core has no compare-and-swap, so it
 *    runs with interrupts masked (enough on this single-core machine).
 *
 * The division routines are compiled with optimisation that cannot turn their loops back into
 * calls of themselves: they use only shifts, compares and subtraction. */
#include <stdint.h>

uint32_t __udivsi3(uint32_t n, uint32_t d);
uint32_t __umodsi3(uint32_t n, uint32_t d);
int32_t __divsi3(int32_t n, int32_t d);
uint64_t __umulsidi3(uint32_t a, uint32_t b);
int64_t __muldi3(int64_t a, int64_t b);
uint64_t __udivdi3(uint64_t n, uint64_t d);
uint64_t __umoddi3(uint64_t n, uint64_t d);
unsigned char __atomic_exchange_1(volatile void *p, unsigned char v, int order);

/* n / d and n % d, one quotient bit per step from the top (the 32-bit routines use it too: a
 * test image needs them correct, not fast). Division by zero gives all ones (the caller's
 * undefined behaviour; never a trap here). */
static uint64_t divmod64(uint64_t n, uint64_t d, uint64_t *rem) {
  uint64_t q = 0, r = 0;
  if (d == 0) {
    *rem = n;
    return UINT64_MAX;
  }
  for (int bit = 63; bit >= 0; --bit) {
    r = (r << 1) | ((n >> bit) & 1u);
    if (r >= d) {
      r -= d;
      q |= UINT64_C(1) << bit;
    }
  }
  *rem = r;
  return q;
}

uint64_t __udivdi3(uint64_t n, uint64_t d) {
  uint64_t r;
  return divmod64(n, d, &r);
}

uint64_t __umoddi3(uint64_t n, uint64_t d) {
  uint64_t r;
  (void)divmod64(n, d, &r);
  return r;
}

uint32_t __udivsi3(uint32_t n, uint32_t d) { return d == 0 ? UINT32_MAX : (uint32_t)__udivdi3(n, d); }

uint32_t __umodsi3(uint32_t n, uint32_t d) { return (uint32_t)__umoddi3(n, d); }

int32_t __divsi3(int32_t n, int32_t d) {
  const uint32_t un = n < 0 ? 0u - (uint32_t)n : (uint32_t)n, ud = d < 0 ? 0u - (uint32_t)d : (uint32_t)d;
  const uint32_t q = __udivsi3(un, ud);
  return (n < 0) != (d < 0) ? (int32_t)(0u - q) : (int32_t)q;
}

/* The full product of two 32-bit numbers from four 16-bit products (the core multiplies 32 x 32
 * to the low 32 bits only). */
uint64_t __umulsidi3(uint32_t a, uint32_t b) {
  const uint32_t al = a & 0xffffu, ah = a >> 16, bl = b & 0xffffu, bh = b >> 16;
  const uint32_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
  const uint32_t mid = (ll >> 16) + (lh & 0xffffu) + (hl & 0xffffu);  /* at most 3 * 0xffff */
  const uint32_t lo = (ll & 0xffffu) | (mid << 16);
  const uint32_t hi = hh + (lh >> 16) + (hl >> 16) + (mid >> 16);
  return ((uint64_t)hi << 32) | lo;
}

/* The low 64 bits of a 64 x 64 product: the cross terms only reach the high word. */
int64_t __muldi3(int64_t a, int64_t b) {
  const uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
  const uint32_t al = (uint32_t)ua, ah = (uint32_t)(ua >> 32), bl = (uint32_t)ub, bh = (uint32_t)(ub >> 32);
  const uint64_t low = __umulsidi3(al, bl);
  const uint32_t cross = al * bh + ah * bl;
  return (int64_t)(low + ((uint64_t)cross << 32));
}

unsigned char __atomic_exchange_1(volatile void *p, unsigned char v, int order) {
  (void)order; /* masking interrupts orders everything on one core */
  uint32_t ps;
  __asm__ volatile("rsil %0, 15" : "=a"(ps)::"memory");
  volatile unsigned char *b = (volatile unsigned char *)p;
  const unsigned char old = *b;
  *b = v;
  __asm__ volatile("wsr.ps %0\n\trsync" ::"a"(ps) : "memory");
  return old;
}
