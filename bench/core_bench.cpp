// Google Benchmark of src/core alone: what one ID costs our code, single-threaded and under a lock.
//
// The layout allows 4096 IDs per millisecond, so a loop that waits for the next millisecond (as
// the server does) can never go below 244 ns per ID: that figure measures the layout, not the
// code. The "NoWait" variants therefore rewind the state by one millisecond when a millisecond's
// sequence is used up, so every call is a full clock read plus a step that issues an ID; the
// "Wait" variants spin like the server and show the layout's cap.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <mutex>

#include "../src/core/clock.hpp"
#include "../src/core/generator.hpp"
#include "../src/core/layout.hpp"
#include "../src/core/policy.hpp"

namespace {

using snowflake::GeneratorState;
using snowflake::StepResult;
using snowflake::StepStatus;

constexpr int32_t kMachineId = 1;
constexpr snowflake::Policy kPolicy = snowflake::kDefaultPolicy;  // the server's mark look-ahead and tolerance

// A generator whose durable mark is already far ahead: the benchmarks measure the step, and the
// server writes a mark about twice a second, outside the lock (README, Guarantees).
GeneratorState MarkedGenerator() {
  GeneratorState state = snowflake::Restore(-1);
  state.mark_millis = snowflake::kMaxMillis;
  return state;
}

StepResult Step(GeneratorState& state, int64_t now) { return snowflake::Step(state, kMachineId, now, kPolicy); }

// The step alone, with an injected clock that moves on by one millisecond whenever the sequence
// is used up: the cost of the state update and Compose, with no clock read.
void BM_StepInjectedClock(benchmark::State& st) {
  GeneratorState state = MarkedGenerator();
  int64_t now = 1;
  for (auto _ : st) {
    StepResult r = Step(state, now);
    if (r.status == StepStatus::kWait) r = Step(state, ++now);
    benchmark::DoNotOptimize(r.id);
  }
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_StepInjectedClock);

// The clock read alone (CLOCK_REALTIME through the vDSO): the floor under every ID.
void BM_WallClockMillis(benchmark::State& st) {
  for (auto _ : st) benchmark::DoNotOptimize(snowflake::WallClockMillis());
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_WallClockMillis);

// One ID per call as the server's critical section does it: read the clock, step. No lock.
void BM_NextNoWait(benchmark::State& st) {
  GeneratorState state = MarkedGenerator();
  for (auto _ : st) {
    StepResult r = Step(state, snowflake::WallClockMillis());
    if (r.status == StepStatus::kWait) {
      --state.last_millis;  // benchmark only: pretend the millisecond is fresh instead of waiting
      r = Step(state, snowflake::WallClockMillis());
    }
    benchmark::DoNotOptimize(r.id);
  }
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_NextNoWait);

// Shared by the threaded variants, like the server's one generator under one LWLock.
std::mutex shared_lock;
GeneratorState shared_state = MarkedGenerator();

// Contended: every thread takes the mutex for one clock read and one step, as snowflake_next() did
// before it read the clock outside the lock.
void BM_NextLockedNoWait(benchmark::State& st) {
  for (auto _ : st) {
    StepResult r;
    {
      std::lock_guard<std::mutex> guard(shared_lock);
      r = Step(shared_state, snowflake::WallClockMillis());
      if (r.status == StepStatus::kWait) {
        --shared_state.last_millis;  // benchmark only, as in BM_NextNoWait
        r = Step(shared_state, snowflake::WallClockMillis());
      }
    }
    benchmark::DoNotOptimize(r.id);
  }
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_NextLockedNoWait)->ThreadRange(1, 8)->UseRealTime();

// What snowflake_next() does: read the clock before taking the lock, so the critical section is the
// step alone. A reading behind the state means another thread issued
// with a later reading first; it is read again under the lock, so a real rollback is still seen.
void BM_NextLockedClockOutsideNoWait(benchmark::State& st) {
  for (auto _ : st) {
    int64_t now = snowflake::WallClockMillis();
    StepResult r;
    {
      std::lock_guard<std::mutex> guard(shared_lock);
      if (now < shared_state.last_millis) now = snowflake::WallClockMillis();
      r = Step(shared_state, now);
      if (r.status == StepStatus::kWait) {
        --shared_state.last_millis;  // benchmark only, as in BM_NextNoWait
        r = Step(shared_state, now);
      }
    }
    benchmark::DoNotOptimize(r.id);
  }
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_NextLockedClockOutsideNoWait)->ThreadRange(1, 8)->UseRealTime();

// Experiment for src/pg: no lock at all. The state is one 64-bit word, (last_millis << 12) | sequence,
// advanced with compare-and-swap (pg_atomic_compare_exchange_u64 in the server). Benchmark only:
// when a millisecond is used up it borrows the next one instead of waiting, like the NoWait variants.
std::atomic<uint64_t> shared_word{0};

void BM_NextAtomicNoWait(benchmark::State& st) {
  for (auto _ : st) {
    uint64_t old = shared_word.load(std::memory_order_relaxed);
    uint64_t next;
    do {
      const int64_t now = snowflake::WallClockMillis();
      next = now > static_cast<int64_t>(old >> snowflake::kSequenceBits)
                 ? static_cast<uint64_t>(now) << snowflake::kSequenceBits
                 : old + 1;
    } while (!shared_word.compare_exchange_weak(old, next, std::memory_order_acq_rel, std::memory_order_relaxed));
    benchmark::DoNotOptimize(
        snowflake::Compose(snowflake::Parts{static_cast<int64_t>(next >> snowflake::kSequenceBits), kMachineId,
                                            static_cast<int32_t>(next & snowflake::kMaxSequence)}));
  }
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_NextAtomicNoWait)->ThreadRange(1, 8)->UseRealTime();

// Contended, waiting as the server does: release the lock and spin until the next millisecond.
// Aggregate items/s is capped by the layout at 4.096 M/s.
void BM_NextLockedWait(benchmark::State& st) {
  for (auto _ : st) {
    for (;;) {
      int64_t now = snowflake::WallClockMillis();
      StepResult r;
      {
        std::lock_guard<std::mutex> guard(shared_lock);
        if (now < shared_state.last_millis) now = snowflake::WallClockMillis();
        r = Step(shared_state, now);
      }
      if (r.status == StepStatus::kIssued) {
        benchmark::DoNotOptimize(r.id);
        break;
      }
      while (snowflake::WallClockMillis() <= now) {
      }
    }
  }
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_NextLockedWait)->ThreadRange(1, 8)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
