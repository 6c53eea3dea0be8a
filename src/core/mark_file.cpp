// The durable high-water mark on disk, written so that a crash at any point leaves the old or the new mark.
#include "mark_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "durable_file.hpp"
#include "policy.hpp"

namespace snowflake {
namespace {

constexpr size_t kMaxMarkFileSize = 64;  // digits and generous white space; anything longer is no mark

bool IsSpace(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

MarkReadResult Result(MarkRead status) noexcept { return MarkReadResult{status, -1, 0, 0}; }

MarkReadResult Unreadable(int error) noexcept {
  MarkReadResult result = Result(MarkRead::kUnreadable);
  result.error = error;
  return result;
}

MarkReadResult NotAFile(mode_t mode) noexcept {
  MarkReadResult result = Result(MarkRead::kNotAFile);
  result.file_type = static_cast<int>(mode & S_IFMT);
  return result;
}

}  // namespace

bool ParseMark(const char* text, size_t length, int64_t* millis) noexcept {
  size_t i = 0;
  while (i < length && IsSpace(text[i])) ++i;
  const size_t digits_start = i;
  int64_t value = 0;
  for (; i < length && text[i] >= '0' && text[i] <= '9'; ++i) {
    const int digit = text[i] - '0';
    if (value > (INT64_MAX - digit) / 10) return false;
    value = value * 10 + digit;
  }
  if (i == digits_start) return false;
  while (i < length && IsSpace(text[i])) ++i;
  if (i != length) return false;
  *millis = value;
  return true;
}

MarkReadResult ReadMarkFile(const char* dir) noexcept {
  char path[kPathSize];
  if (!JoinPath(path, dir, "mark")) return Unreadable(ENAMETOOLONG);
  struct stat link_info;
  if (lstat(path, &link_info) != 0) return errno == ENOENT ? Result(MarkRead::kMissing) : Unreadable(errno);
  // A symbolic link to a regular file is read through; one that leads nowhere is not "no mark".
  struct stat info;
  if (stat(path, &info) != 0) return errno == ENOENT ? NotAFile(0) : Unreadable(errno);
  if (!S_ISREG(info.st_mode)) return NotAFile(info.st_mode);
  // O_NONBLOCK: should a FIFO take the file's place after stat, open must not wait for a writer.
  const int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return Unreadable(errno);
  if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    const int error = errno;
    close(fd);
    return S_ISREG(info.st_mode) ? Unreadable(error) : NotAFile(info.st_mode);
  }
  char text[kMaxMarkFileSize + 1];
  size_t length = 0;
  for (;;) {
    const ssize_t got = read(fd, text + length, sizeof(text) - length);
    if (got < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      close(fd);
      return Unreadable(error);
    }
    if (got == 0) break;
    length += static_cast<size_t>(got);
    if (length == sizeof(text)) break;
  }
  close(fd);
  MarkReadResult result = Result(MarkRead::kNotAMark);
  if (length > kMaxMarkFileSize || !ParseMark(text, length, &result.millis)) return result;
  result.status = MarkRead::kFound;
  return result;
}

const char* MarkReadProblem(const MarkReadResult& result) noexcept {
  switch (result.status) {
    case MarkRead::kFound:
      return "no problem";
    case MarkRead::kMissing:
      return "no such file";
    case MarkRead::kUnreadable:
      return strerror(result.error);
    case MarkRead::kNotAMark:
      return "not a mark (one decimal number of milliseconds since 2024-01-01 UTC)";
    case MarkRead::kNotAFile:
      switch (static_cast<mode_t>(result.file_type)) {
        case 0:
          return "a symbolic link that leads nowhere";
        case S_IFDIR:
          return "a directory, not a file";
        case S_IFIFO:
          return "a FIFO, not a file";
        case S_IFSOCK:
          return "a socket, not a file";
        case S_IFCHR:
        case S_IFBLK:
          return "a device, not a file";
        default:
          return "not a regular file";
      }
  }
  return "unknown";
}

int WriteMarkFile(const char* dir, int64_t millis) noexcept {
  char text[32];
  const int length = snprintf(text, sizeof(text), "%lld\n", static_cast<long long>(millis));
  return WriteFileDurably(dir, "mark", text, static_cast<size_t>(length));
}

MarkCheck CheckRestoredMark(int64_t mark, int64_t now_millis) noexcept {
  if (mark > kMaxWrittenMark) return MarkCheck::kPastRange;
  if (mark - now_millis > kMaxMarkAheadMillis) return MarkCheck::kTooFarAhead;
  return MarkCheck::kUsable;
}

}  // namespace snowflake
