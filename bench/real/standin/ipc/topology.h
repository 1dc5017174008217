/* Stand-in for SOF's <ipc/topology.h>: the allocator sources in bench/real include it and use nothing
 * from it that the other stand-ins do not give. */
#ifndef VMH_STANDIN_IPC_TOPOLOGY_H
#define VMH_STANDIN_IPC_TOPOLOGY_H
#endif
