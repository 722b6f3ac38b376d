#ifndef CONDUIT_MEMORY_HINTS_H
#define CONDUIT_MEMORY_HINTS_H

/// Asks the processor to bring the cache line holding `address` in, ready to be written: a hint, which changes no
/// value and never faults, so that a write a little later does not wait on main memory.
static inline void conduit_prefetch_for_writing(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

#endif
