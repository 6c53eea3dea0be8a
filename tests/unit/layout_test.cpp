// Unit tests of the bit layout: Compose/Decode round trips, field boundaries and the Valid* range checks.
#include "../../src/core/layout.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace snowflake {
namespace {

::testing::AssertionResult PartsAre(const Parts& parts, int64_t millis, int32_t machine_id, int32_t sequence) {
  if (parts.millis == millis && parts.machine_id == machine_id && parts.sequence == sequence) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "got {" << parts.millis << ", " << parts.machine_id << ", " << parts.sequence
                                       << "}, want {" << millis << ", " << machine_id << ", " << sequence << "}";
}

// The README quotes this value; it must stay true.
TEST(LayoutTest, ComposeOfOnesMatchesTheReadmeExample) {
  EXPECT_EQ(Compose(Parts{1, 1, 1}), 4198401);
  EXPECT_TRUE(PartsAre(Decode(4198401), 1, 1, 1));
}

// Each field must land in its own bits: a value in one field must never show up in another.
TEST(LayoutTest, EachFieldOccupiesItsOwnBits) {
  EXPECT_EQ(Compose(Parts{1, 0, 0}), int64_t{1} << 22);
  EXPECT_EQ(Compose(Parts{0, 1, 0}), int64_t{1} << 12);
  EXPECT_EQ(Compose(Parts{0, 0, 1}), 1);
  EXPECT_EQ(Compose(Parts{0, kMaxMachineId, 0}), int64_t{0x3FF} << 12);
  EXPECT_EQ(Compose(Parts{0, 0, kMaxSequence}), 0xFFF);
  EXPECT_EQ(Compose(Parts{kMaxMillis, 0, 0}), kMaxMillis << 22);
}

TEST(LayoutTest, ZeroIsTheSmallestId) {
  EXPECT_EQ(Compose(Parts{0, 0, 0}), 0);
  EXPECT_TRUE(PartsAre(Decode(0), 0, 0, 0));
}

// kMaxId is every bit but the sign bit: it must decode to the maximum of every field.
TEST(LayoutTest, MaxIdDecodesToEveryFieldAtItsMaximum) {
  EXPECT_EQ(kMaxId, INT64_MAX);
  EXPECT_TRUE(PartsAre(Decode(kMaxId), kMaxMillis, kMaxMachineId, kMaxSequence));
  EXPECT_EQ(Compose(Parts{kMaxMillis, kMaxMachineId, kMaxSequence}), kMaxId);
}

// The largest IDs must stay non-negative: bit 63 is never set, so IDs sort the same as int8 and bigint.
TEST(LayoutTest, MaxFieldsNeverSetTheSignBit) {
  EXPECT_GT(Compose(Parts{kMaxMillis, kMaxMachineId, kMaxSequence}), 0);
  EXPECT_GT(Compose(Parts{kMaxMillis, 0, 0}), 0);
  EXPECT_EQ(kTimeBits + kMachineBits + kSequenceBits, 63);
}

// Round trips at every boundary of every field, including mixed extremes.
TEST(LayoutTest, ComposeThenDecodeRoundTripsAtBoundaries) {
  const int64_t millis_values[] = {0, 1, 2, 1000, int64_t{1} << 40, kMaxMillis - 1, kMaxMillis};
  const int32_t machine_values[] = {0, 1, 511, 512, kMaxMachineId - 1, kMaxMachineId};
  const int32_t sequence_values[] = {0, 1, 2047, 2048, kMaxSequence - 1, kMaxSequence};
  for (int64_t millis : millis_values) {
    for (int32_t machine_id : machine_values) {
      for (int32_t sequence : sequence_values) {
        const int64_t id = Compose(Parts{millis, machine_id, sequence});
        EXPECT_TRUE(ValidId(id)) << id;
        EXPECT_TRUE(PartsAre(Decode(id), millis, machine_id, sequence)) << "id " << id;
      }
    }
  }
}

// The other direction: any non-negative int64 is a well-formed ID, so decoding then composing gives it back.
TEST(LayoutTest, DecodeThenComposeRoundTripsForArbitraryIds) {
  const int64_t ids[] = {0,
                         1,
                         4095,
                         4096,
                         4198401,
                         (int64_t{1} << 22) - 1,
                         int64_t{1} << 22,
                         0x123456789ABCDEF,
                         0x7FFFFFFFFFC00000,
                         kMaxId - 1,
                         kMaxId};
  for (int64_t id : ids) {
    const Parts parts = Decode(id);
    EXPECT_TRUE(ValidMillis(parts.millis)) << id;
    EXPECT_TRUE(ValidMachineId(parts.machine_id)) << id;
    EXPECT_TRUE(ValidSequence(parts.sequence)) << id;
    EXPECT_EQ(Compose(parts), id);
  }
}

// IDs must order by time first, then machine, then sequence: this is what makes them sortable by creation.
TEST(LayoutTest, OrderIsTimeThenMachineThenSequence) {
  EXPECT_LT(Compose(Parts{5, kMaxMachineId, kMaxSequence}), Compose(Parts{6, 0, 0}));
  EXPECT_LT(Compose(Parts{5, 3, kMaxSequence}), Compose(Parts{5, 4, 0}));
  EXPECT_LT(Compose(Parts{5, 3, 7}), Compose(Parts{5, 3, 8}));
}

TEST(LayoutTest, ConstantsMatchTheDocumentedLayout) {
  EXPECT_EQ(kMaxSequence, 4095);
  EXPECT_EQ(kMaxMachineId, 1023);
  EXPECT_EQ(kMaxMillis, 2199023255551);
  EXPECT_EQ(kTimeShift, 22);
  EXPECT_EQ(kMachineShift, 12);
  // 2024-01-01T00:00:00Z: 19723 days after 1970-01-01.
  EXPECT_EQ(kEpochUnixMillis, int64_t{19723} * 86400 * 1000);
}

TEST(LayoutTest, ValidIdEdges) {
  EXPECT_FALSE(ValidId(-1));
  EXPECT_FALSE(ValidId(INT64_MIN));
  EXPECT_TRUE(ValidId(0));
  EXPECT_TRUE(ValidId(kMaxId));
}

TEST(LayoutTest, ValidMillisEdges) {
  EXPECT_FALSE(ValidMillis(-1));
  EXPECT_TRUE(ValidMillis(0));
  EXPECT_TRUE(ValidMillis(kMaxMillis));
  EXPECT_FALSE(ValidMillis(kMaxMillis + 1));
  EXPECT_FALSE(ValidMillis(INT64_MIN));
  EXPECT_FALSE(ValidMillis(INT64_MAX));
}

TEST(LayoutTest, ValidMachineIdEdges) {
  EXPECT_FALSE(ValidMachineId(-1));
  EXPECT_TRUE(ValidMachineId(0));
  EXPECT_TRUE(ValidMachineId(kMaxMachineId));
  EXPECT_FALSE(ValidMachineId(kMaxMachineId + 1));
  // Takes int64 so a too-wide value from SQL is refused rather than truncated into range.
  EXPECT_FALSE(ValidMachineId(int64_t{1} << 32));
}

TEST(LayoutTest, ValidSequenceEdges) {
  EXPECT_FALSE(ValidSequence(-1));
  EXPECT_TRUE(ValidSequence(0));
  EXPECT_TRUE(ValidSequence(kMaxSequence));
  EXPECT_FALSE(ValidSequence(kMaxSequence + 1));
  EXPECT_FALSE(ValidSequence(int64_t{1} << 32));
}

}  // namespace
}  // namespace snowflake
