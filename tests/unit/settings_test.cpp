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

}  // namespace
}  // namespace snowflake
