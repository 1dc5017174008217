/* Stand-in for SOF's <sof/list.h>: the allocator sources in bench/real include it and use nothing
 * from it that the other stand-ins do not give. */
#ifndef VMH_STANDIN_SOF_LIST_H
#define VMH_STANDIN_SOF_LIST_H
#endif
