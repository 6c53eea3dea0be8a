// Unit tests of reading snowflake.machine_id: every form PostgreSQL would read otherwise is refused.
#include "../../src/core/settings.hpp"

#include <gtest/gtest.h>

#include <cstdint>

#include "../../src/core/policy.hpp"

namespace snowflake {
namespace {

TEST(SettingsTest, PlainDecimalIdsAndUnset) {
  const struct {
    const char* text;
    int32_t id;
  } accepted[] = {{"0", 0},   {"1", 1},     {"7", 7},       {"10", 10},
                  {"99", 99}, {"100", 100}, {"1023", 1023}, {"-1", kMachineIdUnset}};
  for (const auto& form : accepted) {
    int32_t id = -99;
    EXPECT_TRUE(ParseMachineIdSetting(form.text, &id)) << "[" << form.text << "]";
    EXPECT_EQ(id, form.id) << "[" << form.text << "]";
  }
}

// PostgreSQL's parse_int reads "010" as 8, "0x10" as 16, "1.5" as 2, " 7" as 7: all refused.
TEST(SettingsTest, RefusesEveryOtherForm) {
  const char* refused[] = {"010", "099",  "00",   "0010",  "0x10",        "0X1f", "1.5", "1.0", "1e2", "7ms",
                           "7s",  "+7",   "-0",   "-2",    "-01",         " 7",   "7 ",  "\t7", "7\n", "",
                           "abc", "1024", "5000", "10000", "99999999999", "1,5",  "7 7", "–1"};
  for (const char* text : refused) {
    int32_t id = -99;
    EXPECT_FALSE(ParseMachineIdSetting(text, &id)) << "[" << text << "]";
    EXPECT_EQ(id, -99) << "[" << text << "]";
  }
  int32_t id = -99;
  EXPECT_FALSE(ParseMachineIdSetting(nullptr, &id));
}

// snowflake.lease_machine_ids: "first-last" or "n", each a machine id as above (never -1).
TEST(SettingsTest, MachineIdRanges) {
  const struct {
    const char* text;
    int32_t first, last;
  } accepted[] = {{"100-199", 100, 199}, {"0-1023", 0, 1023}, {"7", 7, 7}, {"5-5", 5, 5}, {"0", 0, 0}};
  for (const auto& form : accepted) {
    int32_t first = -99, last = -99;
    EXPECT_TRUE(ParseMachineIdRangeSetting(form.text, &first, &last)) << "[" << form.text << "]";
    EXPECT_EQ(first, form.first) << "[" << form.text << "]";
    EXPECT_EQ(last, form.last) << "[" << form.text << "]";
  }
  const char* refused[] = {"",       "-1",      "200-100", "100-",       "-100",     "100 - 199", "100-199 ",
                           "010-20", "1-1024",  "1024",    "1-2-3",      "100..199", "0x10-0x20", "1-0x20",
                           "a-b",    "100-abc", "1.5-2",   "12345678-9", "1--2"};
  for (const char* text : refused) {
    int32_t first = -99, last = -99;
    EXPECT_FALSE(ParseMachineIdRangeSetting(text, &first, &last)) << "[" << text << "]";
    EXPECT_EQ(first, -99) << "[" << text << "]";
    EXPECT_EQ(last, -99) << "[" << text << "]";
  }
  int32_t first = -99, last = -99;
  EXPECT_FALSE(ParseMachineIdRangeSetting(nullptr, &first, &last));
}

}  // namespace
}  // namespace snowflake
