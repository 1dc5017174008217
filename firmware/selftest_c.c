/* The C API from C11 on the target: the fw heap of selftest_heap.cpp (96 KiB of pages). */
#include <stddef.h>
#include <stdint.h>

#include <vmh/c/vmh.h>

#include "semihost.h"

VMH_C_DECLARE(fw);
size_t fw_mapped_bytes(void);
void fw_c_api_selftest(void);

void fw_c_api_selftest(void) {
  unsigned char *a = (unsigned char *)fw_alloc(100);
  unsigned char *b = (unsigned char *)fw_aligned_alloc(1024, 1000);
  FW_CHECK(a != NULL && b != NULL);
  FW_CHECK(((uintptr_t)a % 64) == 0 && ((uintptr_t)b % 1024) == 0);
  for (size_t i = 0; i < 100; ++i) a[i] = (unsigned char)i;
  for (size_t i = 0; i < 1000; ++i) b[i] = (unsigned char)(255 - i % 256);
  FW_CHECK(a[99] == 99 && b[0] == 255);
  FW_CHECK(fw_owns(a) && fw_usable_size(a) >= 100);

  /* A range grant: at least 8 KiB, at most 64 KiB, in 4 KiB steps, and no more than the
   * fairness rule lets one request take of the 96 KiB. */
  struct vmh_grant g = fw_alloc_range(8192, 65536, 0, 4096);
  FW_CHECK(g.status == VMH_OK && g.ptr != NULL);
  FW_CHECK(g.size >= 8192 && g.size <= 65536 && g.size % 4096 == 0);
  FW_CHECK(g.size <= 2 * 96 * 1024 / 3);
  ((unsigned char *)g.ptr)[g.size - 1] = 0x5a;

  FW_CHECK(fw_resize(g.ptr, 4096) == VMH_OK);
  FW_CHECK(fw_usable_size(g.ptr) == 4096);
  FW_CHECK(fw_resize(g.ptr, 70000) == VMH_EXCEEDS_BLOCK);
  /* Grow in place in 4 KiB steps, never past its 64 KiB block, never shrinking. */
  struct vmh_grant grown = fw_grow(g.ptr, 12288, 4096);
  FW_CHECK(grown.status == VMH_OK && grown.ptr == g.ptr && grown.size == 12288);
  FW_CHECK(fw_usable_size(g.ptr) == 12288);
  grown = fw_grow(g.ptr, 100, 0);
  FW_CHECK(grown.status == VMH_OK && grown.size == 12288);
  FW_CHECK(fw_grow(g.ptr, 0, 0).status == VMH_INVALID_SIZE);
  FW_CHECK(fw_resize(g.ptr, 4096) == VMH_OK);

  struct vmh_stats s;
  fw_stats(&s);
  FW_CHECK(s.live_allocations == 3);
  FW_CHECK(s.bytes_in_blocks == 256 + 1024 + 65536); /* the blocks taken */
  FW_CHECK(fw_mapped_bytes() == s.pages_mapped * 4096);

  struct vmh_grant bad = fw_try_alloc(64, 48);
  FW_CHECK(bad.status == VMH_INVALID_ALIGNMENT);
  FW_CHECK(fw_free(a + 1) == VMH_INTERIOR_POINTER);
  FW_CHECK(fw_free(a) == VMH_OK);
  FW_CHECK(fw_free(a) == VMH_DOUBLE_FREE);
  FW_CHECK(fw_free(b) == VMH_OK);
  FW_CHECK(fw_free(g.ptr) == VMH_OK);
  FW_CHECK(fw_mapped_bytes() == 0);
  FW_CHECK(fw_validate() == VMH_INVARIANT_OK);
  FW_CHECK(fw_bucket_count() == 6);
  FW_CHECK(fw_metadata_bytes() > 0);
  FW_CHECK(fw_invariant_name(VMH_INVARIANT_PAGE_REFS)[0] == 'p');
  FW_CHECK(fw_stats(NULL) == 1);
}
