/* The heaps the C11 test uses, as a C firmware would declare them. */
#ifndef VMH_TEST_C_API_HEAPS_H
#define VMH_TEST_C_API_HEAPS_H

#include <vmh/c/vmh.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "dsp": a fixed layout over its static arena with a counting page mapper (64 KiB of pages). */
VMH_C_DECLARE(dsp);
/* "ram": a heap over a caller-provided range, plain RAM (no mapper), with a spinlock. */
VMH_C_DECLARE(ram);
/* "lean": no statistics (heap_options::statistics off), 64 KiB of pages. */
VMH_C_DECLARE(lean);
/* "off": a heap whose window is null, so never configured. */
VMH_C_DECLARE(off);
/* "pk": a packed region (the backing heap) of two pages before the buckets. */
VMH_C_DECLARE(pk);
/* Whether ptr lies in the pk heap's packed region, and the bytes its mapper has mapped. */
int pk_in_region(const void *ptr);
size_t pk_mapped_bytes(void);

/* Counters of the dsp heap's mapper, for checks (defined in c_api_heaps.cpp). */
size_t dsp_mapped_bytes(void);
void dsp_fail_next_map(void);
/* The lean heap's metadata as C++ reports it, and that of the same heap with statistics. */
size_t lean_metadata_cpp(void);
size_t lean_metadata_with_stats(void);
size_t lean_mapped_bytes(void);
/* The range behind the ram heap. */
void *ram_window(void);
size_t ram_window_size(void);

#ifdef __cplusplus
}
#endif

#endif
