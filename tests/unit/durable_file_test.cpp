// Unit tests of the durable small-file write that the mark file and the lease worker's node identity share.
#include "../../src/core/durable_file.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "../../src/core/mark_file.hpp"

namespace snowflake {
namespace {

class DurableFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/snowflake-durable-test.XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    root_ = templ;
    dir_ = root_ + "/pg_snowflake";  // created by the write, as in a new data directory
  }
  void TearDown() override { ASSERT_EQ(system(("rm -rf '" + root_ + "'").c_str()), 0); }
  std::string Read(const char* name) {
    char buffer[128] = {};
    FILE* f = fopen((dir_ + "/" + name).c_str(), "r");
    if (f == nullptr) return "<none>";
    const size_t n = fread(buffer, 1, sizeof(buffer) - 1, f);
    fclose(f);
    return std::string(buffer, n);
  }
  std::string root_;
  std::string dir_;
};

// The node identity is written beside the mark, under its own name, and leaves the mark alone.
TEST_F(DurableFileTest, WritesExactlyTheTextUnderItsNameAndNothingElse) {
  ASSERT_EQ(WriteMarkFile(dir_.c_str(), 42), 0);
  const std::string node_id = "0b5e6f1e-2f6c-4d7e-9a43-6d1f0c2b7a11\n";
  ASSERT_EQ(WriteFileDurably(dir_.c_str(), "node_id", node_id.data(), node_id.size()), 0);
  EXPECT_EQ(Read("node_id"), node_id);
  EXPECT_EQ(Read("mark"), "42\n");
  struct stat info;
  EXPECT_NE(stat((dir_ + "/node_id.tmp").c_str(), &info), 0);
  ASSERT_EQ(stat((dir_ + "/node_id").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);  // only the server's OS user reads it
}

TEST_F(DurableFileTest, ASecondWriteReplacesTheFirstWhole) {
  ASSERT_EQ(WriteFileDurably(dir_.c_str(), "node_id", "a longer first text\n", 20), 0);
  ASSERT_EQ(WriteFileDurably(dir_.c_str(), "node_id", "short\n", 6), 0);
  EXPECT_EQ(Read("node_id"), "short\n");
}

TEST_F(DurableFileTest, ReportsErrnoAndPathsTooLong) {
  EXPECT_EQ(WriteFileDurably("/proc/no-such-place/pg_snowflake", "node_id", "x", 1), ENOENT);
  EXPECT_EQ(WriteFileDurably(dir_.c_str(), std::string(2000, 'x').c_str(), "x", 1), ENAMETOOLONG);
  char path[kPathSize];
  EXPECT_TRUE(JoinPath(path, "a", "b", ".tmp"));
  EXPECT_STREQ(path, "a/b.tmp");
  EXPECT_FALSE(JoinPath(path, std::string(kPathSize, 'd').c_str(), "b"));
}

}  // namespace
}  // namespace snowflake
