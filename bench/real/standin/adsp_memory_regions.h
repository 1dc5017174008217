/* Stand-in for SOF's <adsp_memory_regions.h>: the allocator sources in bench/real include it and use nothing
 * from it that the other stand-ins do not give. */
#ifndef VMH_STANDIN_ADSP_MEMORY_REGIONS_H
#define VMH_STANDIN_ADSP_MEMORY_REGIONS_H
#endif
