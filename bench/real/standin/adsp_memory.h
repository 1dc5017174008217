/* Stand-in for the ACE SoC's <adsp_memory.h>: where L2 SRAM starts and how large it is, which
 * vpage.c uses to size its window (the harness sets them per replay, page_table.h), and the
 * data cache line (64 B on ACE). */
#ifndef VMH_STANDIN_ADSP_MEMORY_H
#define VMH_STANDIN_ADSP_MEMORY_H
#include "page_table.h"
#define L2_SRAM_BASE (vmh_standin_l2.base)
#define L2_SRAM_SIZE (vmh_standin_l2.bytes)
#define DCACHE_LINE_SIZE 64
#endif
