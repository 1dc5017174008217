/* The C API from C11: heaps declared with VMH_C_DECLARE and defined in c_api_heaps.cpp.
 * Prints one line per failed check and a closing "N passed, N failed" line; exits non-zero on
 * any failure. */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "c_api_heaps.h"

static unsigned passed, failed;

#define CHECK(cond)                                                  \
  do {                                                               \
    if (cond) {                                                      \
      ++passed;                                                      \
    } else {                                                         \
      ++failed;                                                      \
      printf("%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                \
  } while (0)

/* The test frees bad pointers on purpose: its misuse handler counts the reports (the default one
   would stop a debug build at the first), and remembers the last. */
static size_t misuse_reports;
static enum vmh_status last_misuse;
static const void *last_misused;
static void count_misuse(enum vmh_status what, const void *ptr) {
  ++misuse_reports;
  last_misuse = what;
  last_misused = ptr;
}
static size_t other_reports;
static void count_elsewhere(enum vmh_status what, const void *ptr) {
  (void)what;
  (void)ptr;
  ++other_reports;
}

static void test_alloc_free(void) {
  void *a = dsp_alloc(100);
  void *b = dsp_alloc(3000);
  CHECK(a != NULL && b != NULL && a != b);
  CHECK(dsp_owns(a) && dsp_owns(b));
  CHECK(((uintptr_t)a % 64) == 0); /* the layout's min_align */
  CHECK(dsp_usable_size(a) >= 100);
  memset(a, 0xa5, 100);
  memset(b, 0x5a, 3000);
  CHECK(((unsigned char *)a)[99] == 0xa5);
  CHECK(dsp_mapped_bytes() == 2 * 4096); /* a and b sit in different pages */

  struct vmh_stats s;
  dsp_stats(&s);
  CHECK(s.live_allocations == 2);
  CHECK(s.bytes_in_blocks == 256 + 4096); /* the blocks: 256 B and 4 KiB */
  CHECK(s.pages_mapped == 2);

  CHECK(dsp_free(a) == VMH_OK);
  CHECK(dsp_free(a) == VMH_DOUBLE_FREE);
  CHECK(dsp_free((char *)b + 8) == VMH_INTERIOR_POINTER);
  CHECK(dsp_free(&s) == VMH_FOREIGN_POINTER);
  CHECK(misuse_reports == 3); /* each refused pointer also reached the misuse handler */
  CHECK(last_misuse == VMH_FOREIGN_POINTER && last_misused == &s);
  CHECK(dsp_free(NULL) == VMH_OK);
  CHECK(dsp_free(b) == VMH_OK);
  CHECK(dsp_mapped_bytes() == 0);
  CHECK(dsp_validate() == 0);
}

static void test_aligned_and_errors(void) {
  void *p = dsp_aligned_alloc(1024, 200);
  CHECK(p != NULL && ((uintptr_t)p % 1024) == 0);
  struct vmh_grant g = dsp_try_alloc(100, 3);
  CHECK(g.ptr == NULL && g.status == VMH_INVALID_ALIGNMENT);
  g = dsp_try_alloc(0, 0);
  CHECK(g.ptr == NULL && g.status == VMH_INVALID_SIZE);
  g = dsp_try_alloc(1u << 30, 0);
  CHECK(g.status == VMH_INVALID_SIZE);
  g = dsp_try_alloc(20000, 0); /* larger than the largest block: it never succeeds */
  CHECK(g.status == VMH_NO_BUCKET);

  dsp_fail_next_map();
  g = dsp_try_alloc(5000, 0);
  CHECK(g.ptr == NULL && g.status == VMH_NO_MEMORY);
  struct vmh_stats s;
  dsp_stats(&s);
  CHECK(s.failed_no_memory == 1);
  CHECK(s.failed_no_block == 0);
  CHECK(strcmp(dsp_status_name(VMH_NO_MEMORY), "no physical memory") == 0);
  CHECK(dsp_free(p) == VMH_OK);
  CHECK(dsp_validate() == 0);
}

static void test_range_and_resize(void) {
  /* min 4 KiB, preferred 16 KiB, in multiples of 4 KiB: the 16 KiB bucket can hold it all. */
  struct vmh_grant g = dsp_alloc_range(4096, 16384, 0, 4096);
  CHECK(g.ptr != NULL && g.status == VMH_OK);
  CHECK(g.size >= 4096 && g.size <= 16384 && g.size % 4096 == 0);
  CHECK(dsp_mapped_bytes() == g.size);

  CHECK(dsp_resize(g.ptr, 16384) == VMH_OK);
  CHECK(dsp_mapped_bytes() == 16384);
  CHECK(dsp_resize(g.ptr, 16385) == VMH_EXCEEDS_BLOCK);
  CHECK(dsp_resize(g.ptr, 1000) == VMH_OK);
  CHECK(dsp_mapped_bytes() == 4096);
  CHECK(dsp_resize(g.ptr, 0) == VMH_INVALID_SIZE);

  g = dsp_alloc_range(0, 10, 0, 0);
  CHECK(g.status == VMH_INVALID_SIZE);
  CHECK(dsp_validate() == 0);

  struct vmh_stats s;
  dsp_stats(&s);
  CHECK(s.live_allocations == 1);
  CHECK(s.bytes_in_blocks == 16384); /* its whole 16 KiB block */
}

static void test_buckets(void) {
  CHECK(dsp_bucket_count() == 5);
  struct vmh_bucket_stats b;
  CHECK(dsp_bucket_stats(4, &b) == 1);
  CHECK(b.block_size == 16384 && b.block_count == 4 && b.in_use == 1);
  CHECK(dsp_bucket_stats(5, &b) == 0);
  CHECK(b.block_size == 0);
}

static void test_second_heap(void) {
  /* The ram heap is independent of the dsp heap. */
  void *r[10];
  size_t i;
  for (i = 0; i < 10; ++i) r[i] = ram_alloc(20);
  CHECK(r[0] != NULL && r[9] != NULL);
  CHECK((char *)r[0] >= (char *)ram_window() && (char *)r[9] < (char *)ram_window() + ram_window_size());
  CHECK(!dsp_owns(r[0]) && ram_owns(r[0]));
  CHECK(dsp_free(r[0]) == VMH_FOREIGN_POINTER);
  CHECK(misuse_reports == 4);
  /* One handler serves every heap, whichever prefix set it. */
  ram_set_misuse_handler(count_elsewhere);
  CHECK(dsp_free(r[1]) == VMH_FOREIGN_POINTER);
  CHECK(misuse_reports == 4 && other_reports == 1);
  dsp_set_misuse_handler(count_misuse);
  struct vmh_stats s;
  ram_stats(&s);
  CHECK(s.live_allocations == 10);
  CHECK(s.pages_mapped == 0); /* no mapper: plain RAM */
  for (i = 0; i < 10; ++i) CHECK(ram_free(r[i]) == VMH_OK);
  CHECK(ram_validate() == 0);
}

static void test_grow(void) {
  /* 5000 B in a 16 KiB block: two pages mapped; grow maps the rest of the block. */
  struct vmh_grant g;
  void *p = dsp_alloc(5000);
  size_t before = dsp_mapped_bytes();
  CHECK(p != NULL && dsp_usable_size(p) == 8192);
  g = dsp_grow(p, 12000, 4096); /* in 4 KiB steps: 8 KiB (never shrinks below 5000 B) */
  CHECK(g.status == VMH_OK && g.ptr == p && g.size == 8192);
  g = dsp_grow(p, 16384, 4096);
  CHECK(g.status == VMH_OK && g.ptr == p && g.size == 16384);
  CHECK(dsp_mapped_bytes() == before + 2 * 4096);
  CHECK(dsp_usable_size(p) == 16384);
  g = dsp_grow(p, 1000000, 0); /* at most its block */
  CHECK(g.status == VMH_OK && g.size == 16384);
  g = dsp_grow(p, 100, 0); /* never shrinks */
  CHECK(g.status == VMH_OK && g.size == 16384 && dsp_usable_size(p) == 16384);

  g = dsp_grow(p, 0, 0);
  CHECK(g.ptr == NULL && g.size == 0 && g.status == VMH_INVALID_SIZE);
  g = dsp_grow((char *)p + 64, 20000, 0);
  CHECK(g.ptr == NULL && g.status == VMH_INTERIOR_POINTER);
  g = dsp_grow(&g, 20000, 0);
  CHECK(g.ptr == NULL && g.status == VMH_FOREIGN_POINTER);
  CHECK(dsp_free(p) == VMH_OK);
  g = dsp_grow(p, 20000, 0);
  CHECK(g.ptr == NULL && g.status == VMH_DOUBLE_FREE);
  CHECK(dsp_mapped_bytes() == before - 2 * 4096 && dsp_validate() == VMH_INVARIANT_OK);
}

static void test_without_statistics(void) {
  /* The lean heap keeps no statistics: every call works, the statistics calls answer 0. */
  struct vmh_stats s;
  struct vmh_bucket_stats b;
  void *p = lean_alloc(300);
  CHECK(p != NULL && lean_usable_size(p) == 4096);
  memset(&s, 0xff, sizeof s);
  CHECK(lean_stats(&s) == 0);
  CHECK(s.live_allocations == 0 && s.bytes_in_blocks == 0 && s.failed_no_memory == 0);
  CHECK(lean_stats(NULL) == 0);
  memset(&b, 0xff, sizeof b);
  CHECK(lean_bucket_stats(0, &b) == 0 && b.block_size == 0 && b.block_count == 0);
  CHECK(lean_bucket_count() == 3);
  CHECK(lean_validate() == VMH_INVARIANT_OK);
  CHECK(lean_free(p) == VMH_OK && lean_free(p) == VMH_DOUBLE_FREE);
  /* A heap keeping statistics answers 1. */
  CHECK(dsp_stats(&s) == 1 && dsp_stats(NULL) == 1);
  CHECK(dsp_bucket_stats(0, NULL) == 1);
}

static void test_metadata_bytes(void) {
  size_t lean = lean_metadata_bytes();
  CHECK(lean == lean_metadata_cpp());
  CHECK(lean > 0 && lean < lean_metadata_with_stats()); /* statistics cost RAM */
  CHECK(dsp_metadata_bytes() > 0 && ram_metadata_bytes() > 0);
  CHECK(ram_metadata_bytes() != dsp_metadata_bytes()); /* each prefix its own heap */
}

static void test_range_policy(void) {
  struct vmh_range_policy p = lean_range_policy();
  struct vmh_range_policy quarter = {VMH_RANGE_FIXED, 1, 4, 0};
  struct vmh_range_policy greedy = {VMH_RANGE_FIXED, 1, 1, 0};
  struct vmh_range_policy bad_kind = {VMH_RANGE_FIXED, 1, 2, 0};
  struct vmh_grant g;
  CHECK(p.kind == VMH_RANGE_RESERVE && p.share_num == 0 && p.share_den == 0 && p.reserve_mins == 0);

  /* 64 KiB of pages free: a quarter of them is 16 KiB. */
  CHECK(lean_set_range_policy(quarter) == 1);
  p = lean_range_policy();
  CHECK(p.kind == VMH_RANGE_FIXED && p.share_num == 1 && p.share_den == 4);
  g = lean_alloc_range(4096, 65536, 0, 4096);
  CHECK(g.status == VMH_OK && g.size == 16384 && lean_mapped_bytes() == 16384);
  /* grow obeys the same rule: a quarter of the 48 KiB left. */
  g = lean_grow(g.ptr, 65536, 4096);
  CHECK(g.status == VMH_OK && g.size == 16384 + 12288);
  CHECK(lean_free(g.ptr) == VMH_OK);

  /* Greedy takes all 64 KiB. */
  CHECK(lean_set_range_policy(greedy) == 1);
  g = lean_alloc_range(4096, 65536, 0, 4096);
  CHECK(g.status == VMH_OK && g.size == 65536);
  CHECK(lean_free(g.ptr) == VMH_OK);

  /* Refused, leaving greedy in force: an unknown rule, a number beyond 32 bits. */
  bad_kind.kind = (enum vmh_range_rule)3;
  CHECK(lean_set_range_policy(bad_kind) == 0);
  bad_kind.kind = (enum vmh_range_rule)-1;
  CHECK(lean_set_range_policy(bad_kind) == 0);
#if ULONG_MAX > 0xffffffffUL
  bad_kind.kind = VMH_RANGE_FIXED;
  bad_kind.share_den = 0x100000000UL;
  CHECK(lean_set_range_policy(bad_kind) == 0);
#endif
  p = lean_range_policy();
  CHECK(p.kind == VMH_RANGE_FIXED && p.share_num == 1 && p.share_den == 1);
  CHECK(lean_validate() == VMH_INVARIANT_OK);
}

static void test_names_and_unconfigured(void) {
  struct vmh_grant g = off_try_alloc(64, 0);
  CHECK(g.ptr == NULL && g.status == VMH_NOT_CONFIGURED);
  CHECK(off_validate() == VMH_INVARIANT_NOT_CONFIGURED);
  CHECK(strcmp(off_invariant_name(off_validate()), "heap not configured") == 0);
  CHECK(strcmp(dsp_invariant_name(VMH_INVARIANT_OK), "ok") == 0);
  CHECK(strcmp(dsp_invariant_name(VMH_INVARIANT_PAGE_REFS), "page reference count wrong") == 0);
  CHECK(strcmp(dsp_invariant_name(VMH_INVARIANT_PACKED_REGION), "packed region inconsistent") == 0);
  CHECK(strcmp(dsp_invariant_name((enum vmh_invariant)16), "unknown") == 0);
  CHECK(strcmp(dsp_invariant_name((enum vmh_invariant)256), "unknown") == 0); /* not "ok" */
  CHECK(strcmp(dsp_status_name((enum vmh_status)256), "unknown") == 0);
  CHECK(strcmp(dsp_status_name((enum vmh_status)-1), "unknown") == 0);
  CHECK(strcmp(dsp_status_name(VMH_NOT_CONFIGURED), "heap not configured") == 0);
  CHECK(strcmp(dsp_status_name(VMH_NO_BUCKET), "unknown") != 0);
  CHECK(strcmp(dsp_status_name((enum vmh_status)11), "unknown") == 0);
}

static void test_packed_region(void) {
  /* Small requests share pages in the region, each at a multiple of min_align (64 B). */
  size_t reports = misuse_reports;
  void *p = pk_alloc(100), *q = pk_alloc(100);
  CHECK(pk_in_region(p) && pk_in_region(q));
  CHECK((char *)q - (char *)p == 128 && (uintptr_t)p % 64 == 0);
  CHECK(pk_usable_size(p) == 112); /* seven 16 B granules */
  CHECK(pk_mapped_bytes() == 4096);
  CHECK(pk_resize(p, 128) == VMH_OK && pk_usable_size(p) == 128);
  CHECK(pk_resize(p, 129) == VMH_EXCEEDS_BLOCK); /* q follows */
  struct vmh_grant g = pk_grow(q, 1000, 16);
  CHECK(g.status == VMH_OK && g.ptr == q && g.size >= 112 && g.size <= 1000 && g.size % 16 == 0);
  CHECK(pk_usable_size(q) == g.size);
  g = pk_alloc_range(64, 1024, 0, 64); /* a grant below a page goes to the region first */
  CHECK(g.status == VMH_OK && pk_in_region(g.ptr) && g.size >= 64 && g.size <= 1024 && g.size % 64 == 0);
  void *big = pk_alloc(3000); /* above the region's limit: a 4 KiB block */
  CHECK(big != NULL && !pk_in_region(big) && pk_usable_size(big) == 4096);
  CHECK(pk_free((char *)p + 16) == VMH_INTERIOR_POINTER);
  struct vmh_stats s;
  pk_stats(&s);
  CHECK(s.live_allocations == 4);
  CHECK(pk_free(p) == VMH_OK && pk_free(q) == VMH_OK && pk_free(g.ptr) == VMH_OK && pk_free(big) == VMH_OK);
  CHECK(pk_free(p) == VMH_DOUBLE_FREE);
  CHECK(misuse_reports == reports + 2);
  CHECK(pk_mapped_bytes() == 0 && pk_validate() == VMH_INVARIANT_OK);
}

int main(void) {
  dsp_set_misuse_handler(count_misuse);
  test_alloc_free();
  test_aligned_and_errors();
  test_range_and_resize();
  test_buckets();
  test_second_heap();
  test_grow();
  test_without_statistics();
  test_metadata_bytes();
  test_range_policy();
  test_names_and_unconfigured();
  test_packed_region();
  printf("c_api: %u passed, %u failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
