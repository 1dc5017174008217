/** @file
 * vmh from C: the types and the declarations of the functions that VMH_C_API (vmh/c_api.hpp)
 * defines for one heap.
 *
 * A C firmware names each heap by a prefix. In a header of its own it writes
 *
 *     #include <vmh/c/vmh.h>
 *     VMH_C_DECLARE(fw);
 *
 * and one C++ file defines the heap and the functions (see vmh/c_api.hpp). C code then calls
 * fw_alloc, fw_aligned_alloc, fw_try_alloc, fw_alloc_range, fw_resize, fw_grow, fw_free,
 * fw_usable_size, fw_owns, fw_stats, fw_bucket_count, fw_bucket_stats, fw_metadata_bytes,
 * fw_set_range_policy, fw_range_policy, fw_validate, fw_status_name, fw_invariant_name and
 * fw_set_misuse_handler.
 *
 * Concurrency. Every function but fw_metadata_bytes, fw_status_name, fw_invariant_name and
 * fw_set_misuse_handler takes the heap's lock for the whole call (fw_free(NULL) returns at once, touching nothing),
 * so with a real lock policy
 * (vmh::spin_lock, vmh::zephyr::spinlock) any of them may run at the same time as any other on
 * the same heap, from any core or thread, and each call sees the heap either before or after
 * another (a block may be freed on another core than it was allocated).
 * fw_stats, fw_bucket_count and fw_bucket_stats are separate snapshots: two calls may see
 * different states. With vmh::no_lock (the default lock policy) no two calls on the same heap
 * may overlap. fw_status_name and fw_invariant_name read no heap state and may run anywhere at
 * any time; fw_metadata_bytes reads only the layout, which C code cannot change (a C++
 * `configure` of the same heap must not run at the same time). Heaps of
 * different prefixes are independent: calls on one never wait for another.
 *
 * This header is C89 to C2x and C++ compatible and needs only <stddef.h>.
 */
#ifndef VMH_C_VMH_H
#define VMH_C_VMH_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Result of an operation; the values are those of vmh::status, in the same order. */
enum vmh_status {
  VMH_OK = 0,                /**< success */
  VMH_INVALID_SIZE = 1,      /**< size 0 or too large; range: min 0, preferred < min, bad granule */
  VMH_INVALID_ALIGNMENT = 2, /**< alignment not a power of two */
  VMH_NO_BLOCK = 3,          /**< every block large and aligned enough is taken now */
  VMH_NO_MEMORY = 4,         /**< a block was free but its pages could not be mapped */
  VMH_FOREIGN_POINTER = 5,   /**< the pointer is not inside this heap */
  VMH_INTERIOR_POINTER = 6,  /**< inside the heap but not the start of an allocation */
  VMH_DOUBLE_FREE = 7,       /**< a block start that is not allocated */
  VMH_EXCEEDS_BLOCK = 8,     /**< resize: the new size does not fit the allocation's block(s) */
  VMH_NOT_CONFIGURED = 9,    /**< the heap has no usable layout or window */
  VMH_NO_BUCKET = 10         /**< no bucket could ever hold it (size or alignment beyond the layout) */
};

/** What `_validate` found: the invariants of vmh::invariant, with its values in the same order. */
enum vmh_invariant {
  VMH_INVARIANT_OK = 0,               /**< every invariant holds */
  VMH_INVARIANT_NOT_CONFIGURED = 1,   /**< the heap has no usable layout (not an inconsistency) */
  VMH_INVARIANT_BITMAP_SUMMARY = 2,   /**< an upper bitmap bit disagrees with the word below */
  VMH_INVARIANT_BITMAP_PADDING = 3,   /**< a bitmap bit past the block count is set */
  VMH_INVARIANT_IN_USE_COUNT = 4,     /**< a bucket's in-use count differs from its bitmap */
  VMH_INVARIANT_PEAK_IN_USE = 5,      /**< a bucket's peak is below its in-use count */
  VMH_INVARIANT_FULL_MASK = 6,        /**< a bucket's full bit is wrong */
  VMH_INVARIANT_FREE_BLOCK_SIZE = 7,  /**< a free block has a size record */
  VMH_INVARIANT_ORPHAN_BLOCK = 8,     /**< a used block belongs to no allocation */
  VMH_INVARIANT_RUN_OVERFLOW = 9,     /**< an allocation runs past its block or bucket */
  VMH_INVARIANT_PAGE_REFS = 10,       /**< a page's count differs from the allocations touching it */
  VMH_INVARIANT_PAGES_MAPPED = 11,    /**< the mapped page count is wrong */
  VMH_INVARIANT_MAPPER_MAPPED = 12,   /**< the mapper reports other mapped bytes than the heap */
  VMH_INVARIANT_BLOCK_BYTES = 13,     /**< the bytes in blocks are wrong */
  VMH_INVARIANT_LIVE_ALLOCATIONS = 14, /**< the live allocation count is wrong */
  VMH_INVARIANT_PACKED_REGION = 15     /**< the backing heap's packed region is inconsistent */
};

/** The formula of the range fairness rule (vmh::range_policy::rule). */
enum vmh_range_rule {
  VMH_RANGE_RESERVE = 0,  /**< all but a reserve kept for the next requests (the default) */
  VMH_RANGE_ADAPTIVE = 1, /**< a share limited to sqrt(free fraction) */
  VMH_RANGE_FIXED = 2     /**< a fixed share of the free memory */
};

/** The fairness rule of `_alloc_range` and `_grow` (vmh::range_policy; its header states the
 * formulas). All zero is the default, the reserve rule with 4 minimums and 35/1000 of the memory
 * kept back. Each number must fit 32 bits. */
struct vmh_range_policy {
  enum vmh_range_rule kind;   /**< which formula */
  unsigned long share_num;    /**< share taken (fixed, adaptive) or kept back (reserve), numerator */
  unsigned long share_den;    /**< its denominator; 0 with share_num 0: the rule's default */
  unsigned long reserve_mins; /**< reserve rule: smallest grants kept back (0: 4) */
};

/** An allocation: the pointer (NULL on failure), the bytes granted, and why (vmh::grant). */
struct vmh_grant {
  void *ptr;              /**< the allocation, or NULL */
  size_t size;            /**< bytes granted (0 on failure) */
  enum vmh_status status; /**< VMH_OK, or why it failed */
};

/** Whole-heap statistics (vmh::heap_stats), one snapshot. */
struct vmh_stats {
  size_t live_allocations;     /**< allocations not yet freed */
  size_t bytes_in_blocks;      /**< bytes of the blocks held by the live allocations */
  size_t peak_bytes_in_blocks; /**< the most bytes_in_blocks has been */
  size_t pages_mapped;         /**< pages mapped now */
  size_t peak_pages_mapped;    /**< the most pages mapped at once */
  size_t failed_no_block;      /**< requests that failed for want of a free block */
  size_t failed_no_memory;     /**< requests that failed because pages could not be mapped */
};

/** A misuse handler (vmh::misuse_handler): called with what a heap refused (VMH_FOREIGN_POINTER,
 * VMH_INTERIOR_POINTER or VMH_DOUBLE_FREE) and the pointer it was given, with the heap's lock
 * held: it must not call that heap. */
typedef void (*vmh_misuse_handler)(enum vmh_status what, const void *ptr);

/** Statistics of one bucket (vmh::bucket_stats), one snapshot. */
struct vmh_bucket_stats {
  size_t block_size;    /**< bytes per block */
  size_t block_count;   /**< blocks in the bucket */
  size_t in_use;        /**< blocks allocated now */
  size_t peak_in_use;   /**< the most blocks allocated at once */
  size_t full_failures; /**< requests that failed while this bucket, their first fit, was full */
};

/** `extern "C"` when compiled as C++, nothing in C. VMH_C_DECLARE puts it on each declaration,
 * so a header that only says `VMH_C_DECLARE(fw);` declares C functions in C and in C++ alike and
 * needs no `extern "C"` block of its own (one around it does no harm). */
#ifdef __cplusplus
#define VMH_C_LINKAGE extern "C"
#else
#define VMH_C_LINKAGE
#endif

/** Declares the functions of the heap named `prefix`; write it followed by a semicolon, at file
 * (namespace) scope. Arguments mean what they mean for the vmh::heap member of the same name:
 * align 0 is the layout's minimum alignment, granule 0 is `min` for `_alloc_range` and any size
 * for `_grow`. Returns:
 *  - `_alloc`, `_aligned_alloc`: the block, or NULL (`_try_alloc` says why);
 *  - `_try_alloc`, `_alloc_range`: a vmh_grant (ptr NULL and the reason on failure);
 *  - `_resize`, `_free`: VMH_OK or the reason nothing changed (`_free(NULL)` is VMH_OK);
 *  - `_grow`: the allocation grown in place towards `preferred` (never shrunk) and its size, or
 *    ptr NULL and the reason (the allocation unchanged);
 *  - `_usable_size`: bytes usable at the pointer, 0 if it is not a live allocation;
 *  - `_owns`: 1 if the pointer lies in the heap's blocks, else 0;
 *  - `_stats`: 1 and `*out` filled; 0 and `*out` zeroed when the heap keeps no statistics
 *    (`heap_options::statistics` off); out may be NULL;
 *  - `_bucket_count`: the buckets of the current layout;
 *  - `_bucket_stats`: 1 and `*out` filled if the bucket exists and the heap keeps statistics,
 *    else 0 and `*out` zeroed (out may be NULL);
 *  - `_metadata_bytes`: the RAM the heap keeps as metadata (vmh::heap::metadata_bytes);
 *  - `_set_range_policy`: 1 when the policy is set; 0, the heap's policy unchanged, when `kind`
 *    is not a vmh_range_rule or a number does not fit 32 bits;
 *  - `_range_policy`: the policy in force;
 *  - `_validate`: VMH_INVARIANT_OK (0) when every invariant holds, else the first broken one;
 *  - `_status_name`, `_invariant_name`: a static string naming the value ("unknown" for a value
 *    outside the enum);
 *  - `_set_misuse_handler`: nothing. It sets the handler that every heap of the program calls on
 *    a refused pointer (one handler serves all heaps, as vmh::set_misuse_handler; NULL restores
 *    the default, an assert). The heaps call it where the C++ file that defines them reports
 *    misuse: NDEBUG not defined there, or VMH_REPORT_MISUSE=1 (vmh/misuse.hpp). Set it before
 *    the heaps are used. */
#define VMH_C_DECLARE(prefix)                                                                                   \
  VMH_C_LINKAGE void *prefix##_alloc(size_t size);                                                              \
  VMH_C_LINKAGE void *prefix##_aligned_alloc(size_t align, size_t size);                                        \
  VMH_C_LINKAGE struct vmh_grant prefix##_try_alloc(size_t size, size_t align);                                 \
  VMH_C_LINKAGE struct vmh_grant prefix##_alloc_range(size_t min, size_t preferred, size_t align, size_t granule); \
  VMH_C_LINKAGE enum vmh_status prefix##_resize(void *ptr, size_t new_size);                                    \
  VMH_C_LINKAGE struct vmh_grant prefix##_grow(void *ptr, size_t preferred, size_t granule);                    \
  VMH_C_LINKAGE enum vmh_status prefix##_free(void *ptr);                                                       \
  VMH_C_LINKAGE size_t prefix##_usable_size(const void *ptr);                                                   \
  VMH_C_LINKAGE int prefix##_owns(const void *ptr);                                                             \
  VMH_C_LINKAGE int prefix##_stats(struct vmh_stats *out);                                                      \
  VMH_C_LINKAGE size_t prefix##_bucket_count(void);                                                             \
  VMH_C_LINKAGE int prefix##_bucket_stats(size_t bucket, struct vmh_bucket_stats *out);                         \
  VMH_C_LINKAGE size_t prefix##_metadata_bytes(void);                                                           \
  VMH_C_LINKAGE int prefix##_set_range_policy(struct vmh_range_policy policy);                                  \
  VMH_C_LINKAGE struct vmh_range_policy prefix##_range_policy(void);                                            \
  VMH_C_LINKAGE enum vmh_invariant prefix##_validate(void);                                                     \
  VMH_C_LINKAGE const char *prefix##_status_name(enum vmh_status status);                                       \
  VMH_C_LINKAGE const char *prefix##_invariant_name(enum vmh_invariant invariant);                              \
  VMH_C_LINKAGE void prefix##_set_misuse_handler(vmh_misuse_handler handler)

#ifdef __cplusplus
}
#endif

#endif /* VMH_C_VMH_H */
