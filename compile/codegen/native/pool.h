// The output pool behind compile(...).run's fresh outputs (addon.cc's `output`): typed arrays over
// memory the pool keeps, handed back to it when V8 frees the array.
//
// Why: a fresh 32 MB ArrayBuffer per call costs the kernel's page faults and zeroing (glibc
// serves it with a new mmap), its munmap, and the collections V8 starts for the external memory;
// batchnorm backward at 4096x1024 float64 took 8x as long with fresh outputs as with reused ones.
// A pooled block stays mapped and faulted in, and is not zeroed again (every pooled output is
// overwritten whole by the run that takes it: compile/codegen/compile.ts).
//
// How a block comes back: the array's backing store is made with a deleter (V8's own API, not
// N-API's finalizer: that one runs from a later task, so a synchronous training loop would never
// see a block again). V8 calls the deleter when its sweeper frees the dead array, in a collection
// during the loop, on the main thread or a helper. The arrays count as external memory as any
// ArrayBuffer does (their memory is in use until then): that count is what starts the collections
// that return blocks, so the pool stays a few blocks per output in a loop (test: spec/pool.test.ts).
//
// Idle blocks above IDLE_CAP bytes are unmapped as they come back, and `trim` unmaps every idle one.

#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <map>
#include <mutex>
#include <vector>

namespace gradc {

class Pool {
 public:
  /** Idle bytes kept for reuse; blocks coming back beyond this are unmapped. */
  static constexpr size_t IDLE_CAP = (size_t)512 << 20;

  /** A block of `bytes` (page-rounded), reused when one is idle, else newly mapped (zeroed); null when out of memory. */
  void* take(size_t bytes) {
    const size_t size = pages(bytes);
    {
      std::lock_guard<std::mutex> g(mu);
      auto it = idle.find(size);
      if (it != idle.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        idleBytes -= size;
        reused++;
        return p;
      }
    }
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
#ifdef MADV_HUGEPAGE
    // 2 MB pages where the kernel offers them on request: 512x fewer faults on first touch
    if (size >= ((size_t)4 << 20)) madvise(p, size, MADV_HUGEPAGE);
#endif
    std::lock_guard<std::mutex> g(mu);
    mapped++;
    mappedBytes += size;
    return p;
  }

  /** A block V8 no longer uses (any thread): kept idle, or unmapped above the cap. */
  void give(void* p, size_t bytes) {
    const size_t size = pages(bytes);
    {
      std::lock_guard<std::mutex> g(mu);
      if (idleBytes + size <= IDLE_CAP) {
        idle[size].push_back(p);
        idleBytes += size;
        return;
      }
      mappedBytes -= size;
    }
    munmap(p, size);
  }

  /** Unmap every idle block. */
  void trim() {
    std::map<size_t, std::vector<void*>> drop;
    {
      std::lock_guard<std::mutex> g(mu);
      drop.swap(idle);
      mappedBytes -= idleBytes;
      idleBytes = 0;
    }
    for (auto& [size, blocks] : drop)
      for (void* p : blocks) munmap(p, size);
  }

  struct Stats {
    double mappedBytes, idleBytes, mapped, reused;
  };
  Stats stats() {
    std::lock_guard<std::mutex> g(mu);
    return {(double)mappedBytes, (double)idleBytes, (double)mapped, (double)reused};
  }

 private:
  static size_t pages(size_t bytes) { return (bytes + 4095) / 4096 * 4096; }
  std::mutex mu;
  std::map<size_t, std::vector<void*>> idle;
  size_t idleBytes = 0, mappedBytes = 0;
  uint64_t mapped = 0, reused = 0;
};

}  // namespace gradc
