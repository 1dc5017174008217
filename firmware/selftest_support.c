/* The target-independent part of the self-test's runtime: counting checks, printing numbers,
 * and memcpy, memmove, memset and memcmp, the four functions GCC may call in any freestanding
 * program (for aggregate copies and clears). Each target's startup file supplies fw_print and
 * fw_exit over its own semihosting. No C library. This file is compiled with
 * -fno-tree-loop-distribute-patterns so that the mem* loops stay loops rather than calls to
 * themselves. */
#include <stddef.h>
#include <stdint.h>

#include "semihost.h"

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
unsigned fw_failed(void) { return failed; }

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

