// Unit tests of the durable mark file: parsing, reading every kind of thing at its path, writing, the start-up check.
#include "../../src/core/mark_file.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "../../src/core/layout.hpp"
#include "../../src/core/policy.hpp"

namespace snowflake {
namespace {

bool Parse(const std::string& text, int64_t* millis) { return ParseMark(text.data(), text.size(), millis); }

// What the server writes and what an operator writes by hand (echo, echo -n, printf, an editor).
TEST(MarkFileTest, ParsesEveryHandWrittenForm) {
  const struct {
    const char* text;
    int64_t millis;
  } forms[] = {{"123\n", 123},
               {"123", 123},
               {"  123  ", 123},
               {"\t123\r\n", 123},
               {"\n\n123\n\n", 123},
               {"0\n", 0},
               {"0042", 42},
               {"9223372036854775807", INT64_MAX},
               {"2199023255551\n", kMaxMillis}};
  for (const auto& form : forms) {
    int64_t millis = -1;
    EXPECT_TRUE(Parse(form.text, &millis)) << "[" << form.text << "]";
    EXPECT_EQ(millis, form.millis) << "[" << form.text << "]";
  }
}

TEST(MarkFileTest, RefusesEverythingElse) {
  const char* refused[] = {"",
                           "\n",
                           "   ",
                           "-1",
                           "+5",
                           "12abc",
                           "12 34",
                           "1.5",
                           "0x10",
                           "1e3",
                           "abc",
                           "12\n3",
                           "9223372036854775808",
                           "99999999999999999999",
                           "12;"};
  for (const char* text : refused) {
    int64_t millis = -7;
    EXPECT_FALSE(Parse(text, &millis)) << "[" << text << "]";
    EXPECT_EQ(millis, -7) << "[" << text << "]";
  }
  // A NUL inside the file is not white space.
  int64_t millis = -7;
  EXPECT_FALSE(ParseMark("12\0", 3, &millis));
}

// Each test works in a fresh directory of its own under /tmp.
class MarkDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/snowflake-mark-test.XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    dir_ = templ;
    mark_ = dir_ + "/mark";
  }
  void TearDown() override { ASSERT_EQ(system(("rm -rf '" + dir_ + "'").c_str()), 0); }
  void WriteText(const std::string& text) {
    FILE* f = fopen(mark_.c_str(), "w");
    ASSERT_NE(f, nullptr);
    fwrite(text.data(), 1, text.size(), f);
    fclose(f);
  }
  std::string ReadText() {
    char buffer[128] = {};
    FILE* f = fopen(mark_.c_str(), "r");
    if (f == nullptr) return "<none>";
    const size_t n = fread(buffer, 1, sizeof(buffer) - 1, f);
    fclose(f);
    return std::string(buffer, n);
  }
  std::string dir_;
  std::string mark_;
};

TEST_F(MarkDirTest, NothingThereIsMissing) {
  EXPECT_EQ(ReadMarkFile(dir_.c_str()).status, MarkRead::kMissing);
  EXPECT_EQ(ReadMarkFile((dir_ + "/no-such-dir").c_str()).status, MarkRead::kMissing);
}

TEST_F(MarkDirTest, ReadsHandWrittenMarks) {
  for (const char* text : {"4242\n", "4242", " 4242 \n"}) {
    WriteText(text);
    const MarkReadResult read = ReadMarkFile(dir_.c_str());
    EXPECT_EQ(read.status, MarkRead::kFound) << "[" << text << "]";
    EXPECT_EQ(read.millis, 4242) << "[" << text << "]";
  }
}

TEST_F(MarkDirTest, ContentsThatAreNoMarkAreNotAMark) {
  for (const std::string& text : {std::string(""), std::string("not a number\n"), std::string("12abc"),
                                  std::string(70, ' ') + "1", std::string("-5\n")}) {
    WriteText(text);
    const MarkReadResult read = ReadMarkFile(dir_.c_str());
    EXPECT_EQ(read.status, MarkRead::kNotAMark) << "[" << text << "]";
    EXPECT_NE(std::string(MarkReadProblem(read)).find("not a mark"), std::string::npos);
  }
}

// A symbolic link to a regular file is read through it.
TEST_F(MarkDirTest, SymlinkToAFileIsReadThrough) {
  const std::string target = dir_ + "/elsewhere";
  FILE* f = fopen(target.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs("77\n", f);
  fclose(f);
  ASSERT_EQ(symlink(target.c_str(), mark_.c_str()), 0);
  const MarkReadResult read = ReadMarkFile(dir_.c_str());
  EXPECT_EQ(read.status, MarkRead::kFound);
  EXPECT_EQ(read.millis, 77);
}

// Anything at the path that is not a regular file is refused, never taken for "no mark".
TEST_F(MarkDirTest, DanglingSymlinkIsNotAFile) {
  ASSERT_EQ(symlink((dir_ + "/gone").c_str(), mark_.c_str()), 0);
  const MarkReadResult read = ReadMarkFile(dir_.c_str());
  EXPECT_EQ(read.status, MarkRead::kNotAFile);
  EXPECT_STREQ(MarkReadProblem(read), "a symbolic link that leads nowhere");
}

TEST_F(MarkDirTest, DirectoryIsNotAFile) {
  ASSERT_EQ(mkdir(mark_.c_str(), 0700), 0);
  const MarkReadResult read = ReadMarkFile(dir_.c_str());
  EXPECT_EQ(read.status, MarkRead::kNotAFile);
  EXPECT_STREQ(MarkReadProblem(read), "a directory, not a file");
}

// A FIFO with no writer would block a plain open(): the reader must return at once.
TEST_F(MarkDirTest, FifoIsNotAFileAndDoesNotBlock) {
  ASSERT_EQ(mkfifo(mark_.c_str(), 0600), 0);
  const MarkReadResult read = ReadMarkFile(dir_.c_str());
  EXPECT_EQ(read.status, MarkRead::kNotAFile);
  EXPECT_STREQ(MarkReadProblem(read), "a FIFO, not a file");
}

TEST_F(MarkDirTest, WriteThenReadRoundTripsAndLeavesNoTemporaryFile) {
  const std::string sub = dir_ + "/pg_snowflake";  // created by the write, as in a new data directory
  for (const int64_t millis : {int64_t{0}, int64_t{1000}, kMaxWrittenMark}) {
    ASSERT_EQ(WriteMarkFile(sub.c_str(), millis), 0);
    const MarkReadResult read = ReadMarkFile(sub.c_str());
    EXPECT_EQ(read.status, MarkRead::kFound);
    EXPECT_EQ(read.millis, millis);
  }
  struct stat info;
  EXPECT_NE(stat((sub + "/mark.tmp").c_str(), &info), 0);
  EXPECT_EQ(stat(sub.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700u);
}

TEST_F(MarkDirTest, WriteFormatIsOneNumberAndANewline) {
  ASSERT_EQ(WriteMarkFile(dir_.c_str(), 123456789), 0);
  EXPECT_EQ(ReadText(), "123456789\n");
}

// A write replaces a hand-made file whatever it held (the server owns the file while it runs).
TEST_F(MarkDirTest, WriteReplacesAnythingBeforeIt) {
  WriteText("garbage that is no mark");
  ASSERT_EQ(WriteMarkFile(dir_.c_str(), 5), 0);
  EXPECT_EQ(ReadText(), "5\n");
}

TEST_F(MarkDirTest, WriteReportsErrno) {
  const std::string file = dir_ + "/a-file";
  FILE* f = fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fclose(f);
  EXPECT_EQ(WriteMarkFile(file.c_str(), 5), ENOTDIR);  // "directory" is a file
  EXPECT_EQ(WriteMarkFile(std::string(2000, 'x').c_str(), 5), ENAMETOOLONG);
}

// The start-up check: a mark within the bound is waited out, beyond it or past the layout refused.
TEST(MarkCheckTest, BoundsAheadOfTheClockAndPastTheLayout) {
  constexpr int64_t kNow = 90'000'000'000;
  EXPECT_EQ(CheckRestoredMark(kNow - 5000, kNow), MarkCheck::kUsable);
  EXPECT_EQ(CheckRestoredMark(kNow + kMarkLookaheadMillis, kNow), MarkCheck::kUsable);  // a crash's look-ahead
  EXPECT_EQ(CheckRestoredMark(kNow + kMaxMarkAheadMillis, kNow), MarkCheck::kUsable);
  EXPECT_EQ(CheckRestoredMark(kNow + kMaxMarkAheadMillis + 1, kNow), MarkCheck::kTooFarAhead);
  EXPECT_EQ(CheckRestoredMark(kMaxWrittenMark, kMaxMillis), MarkCheck::kUsable);  // the last look-ahead there is
  EXPECT_EQ(CheckRestoredMark(kMaxWrittenMark + 1, kMaxMillis), MarkCheck::kPastRange);
  EXPECT_EQ(CheckRestoredMark(INT64_MAX, kNow), MarkCheck::kPastRange);
  EXPECT_EQ(CheckRestoredMark(2399999999999, kNow), MarkCheck::kPastRange);
}

}  // namespace
}  // namespace snowflake
