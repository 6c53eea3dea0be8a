// Unit test of many threads sharing one generator under one lock, the discipline the server uses with its LWLock.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "../../src/core/generator.hpp"
#include "../../src/core/layout.hpp"
#include "step_with_marks.hpp"

namespace snowflake {
namespace {

constexpr int kThreads = 100;
constexpr int kIdsPerThread = 1000;
constexpr int32_t kMachine = 7;
constexpr int64_t kStartMillis = 48'000'000'000;

// A shared fake wall clock. It stands still until a thread that found its millisecond exhausted waits: that
// thread moves it on, as real time would have while it slept. Standing still otherwise makes every millisecond
// fill up, so the exhaustion path is certain to run, many times, under contention.
class FakeClock {
 public:
  explicit FakeClock(int64_t start) : now_(start) {}
  int64_t Read() const { return now_.load(); }
  // Compare-and-swap, so many threads waiting on the same exhausted millisecond move time on by one, not by many.
  void PassMillisecondAfter(int64_t seen) { now_.compare_exchange_strong(seen, seen + 1); }

 private:
  std::atomic<int64_t> now_;
};

struct Issued {
  int64_t clock_millis;  // what the clock said when this ID was issued
  int64_t id;
};

TEST(ConcurrencyTest, HundredThreadsGetDistinctIncreasingIdsThroughOneLock) {
  FakeClock clock(kStartMillis);
  std::mutex lock;  // stands for the LWLock
  GeneratorState state = Restore(-1);
  std::vector<Issued> in_lock_order;  // appended under the lock, so its order is the lock order
  in_lock_order.reserve(kThreads * kIdsPerThread);
  std::atomic<int> exhausted{0};
  std::atomic<int> unexpected{0};  // kClockBehind or kClockOutOfRange: impossible with a clock that only advances
  std::atomic<bool> go{false};

  auto worker = [&] {
    while (!go.load()) std::this_thread::yield();  // start together, for the most contention
    for (int issued = 0; issued < kIdsPerThread;) {
      int64_t seen;
      StepResult result;
      {
        // Read the clock and step under the lock, as the server does: a clock read outside it could be stale.
        std::lock_guard<std::mutex> guard(lock);
        seen = clock.Read();
        result = StepWithMarks(state, kMachine, seen);
        if (result.status == StepStatus::kIssued) in_lock_order.push_back(Issued{seen, result.id});
      }
      switch (result.status) {
        case StepStatus::kIssued:
          ++issued;
          break;
        case StepStatus::kWait:
          // Outside the lock, as the server must (it cannot wait holding an LWLock); retry once time has moved.
          ++exhausted;
          clock.PassMillisecondAfter(seen);
          while (clock.Read() <= seen) std::this_thread::yield();
          break;
        default:
          ++unexpected;
          return;
      }
    }
  };

  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(worker);
  go.store(true);
  for (std::thread& thread : threads) thread.join();

  ASSERT_EQ(unexpected.load(), 0);
  ASSERT_EQ(in_lock_order.size(), size_t{kThreads * kIdsPerThread});

  // In lock order, each ID is larger than the one before; this also makes them distinct.
  for (size_t i = 1; i < in_lock_order.size(); ++i) {
    ASSERT_GT(in_lock_order[i].id, in_lock_order[i - 1].id) << "at position " << i;
  }

  // Distinctness checked on its own, not only as a consequence of the order check above.
  std::vector<int64_t> ids;
  ids.reserve(in_lock_order.size());
  for (const Issued& issued : in_lock_order) ids.push_back(issued.id);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end()) << "duplicate ID";
  EXPECT_EQ(std::unique(ids.begin(), ids.end()) - ids.begin(), kThreads * kIdsPerThread);

  // Every ID carries the clock reading it was issued under and the configured machine.
  std::map<int64_t, int> ids_per_millis;
  for (const Issued& issued : in_lock_order) {
    const Parts parts = Decode(issued.id);
    ASSERT_TRUE(ValidId(issued.id));
    ASSERT_EQ(parts.millis, issued.clock_millis);
    ASSERT_EQ(parts.machine_id, kMachine);
    ++ids_per_millis[parts.millis];
  }

  // The clock moved only when a thread found its millisecond exhausted, so the exhaustion path really ran and
  // every millisecond but the last was used to the full 4096: Step neither refused early nor issued a 4097th.
  const int full_millis = (kThreads * kIdsPerThread) / (kMaxSequence + 1);  // 24
  EXPECT_GE(exhausted.load(), full_millis);
  ASSERT_EQ(ids_per_millis.size(), size_t(full_millis + 1));
  int64_t expected_millis = kStartMillis;
  for (const auto& [millis, count] : ids_per_millis) {
    EXPECT_EQ(millis, expected_millis) << "the clock only ever moves by one millisecond";
    if (millis != ids_per_millis.rbegin()->first) {
      EXPECT_EQ(count, kMaxSequence + 1) << "ms " << millis;
    }
    ++expected_millis;
  }
  EXPECT_EQ(ids_per_millis.rbegin()->second, kThreads * kIdsPerThread - full_millis * (kMaxSequence + 1));
}

}  // namespace
}  // namespace snowflake
