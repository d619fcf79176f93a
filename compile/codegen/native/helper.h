// One helper thread for two-core matrix products (compile's `threads` option): the caller hands it
// a job, computes its own half, then waits for the helper's. Created on first use and never
// destroyed (a thread blocked on a condition variable must not see it destroyed at exit), so it
// is leaked on purpose; callers from several threads (worker_threads) take turns.

#pragma once
#include <stdint.h>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace gradc {

class Helper {
 public:
  /** Run fn(arg) on the helper while the caller runs own(ownArg); return when both are done. */
  static void both(void (*fn)(void*), void* arg, void (*own)(void*), void* ownArg) {
    static Helper* h = new Helper();
    std::lock_guard<std::mutex> turn(h->callers);
    h->start(fn, arg);
    own(ownArg);
    h->wait();
  }

 private:
  std::mutex callers;
  std::mutex mu;
  std::condition_variable cv;
  void (*fn)(void*) = nullptr;
  void* arg = nullptr;
  uint64_t started = 0, finished = 0;
  bool spawned = false;

  void start(void (*f)(void*), void* a) {
    std::unique_lock<std::mutex> l(mu);
    if (!spawned) {
      std::thread([this] { loop(); }).detach();
      spawned = true;
    }
    fn = f;
    arg = a;
    started++;
    cv.notify_all();
  }

  void wait() {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return finished == started; });
  }

  void loop() {
    uint64_t seen = 0;
    for (;;) {
      void (*f)(void*);
      void* a;
      {
        std::unique_lock<std::mutex> l(mu);
        cv.wait(l, [&] { return started != seen; });
        seen = started;
        f = fn;
        a = arg;
      }
      f(a);
      {
        std::lock_guard<std::mutex> l(mu);
        finished = seen;
      }
      cv.notify_all();
    }
  }
};

}  // namespace gradc
