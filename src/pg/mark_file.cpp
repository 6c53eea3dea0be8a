// The durable high-water mark on disk, written so that a crash at any point leaves the old or the new mark.
#include "mark_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace snowflake {
namespace {

constexpr const char* kMarkDir = "pg_snowflake";
constexpr const char* kMarkTempPath = "pg_snowflake/mark.tmp";

int FsyncPath(const char* path, int flags) noexcept {
  const int fd = open(path, flags);
  if (fd < 0) return errno;
  const int error = fsync(fd) == 0 ? 0 : errno;
  close(fd);
  return error;
}

int WriteAll(int fd, const char* text, size_t length) noexcept {
  while (length > 0) {
    const ssize_t written = write(fd, text, length);
    if (written < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    text += written;
    length -= static_cast<size_t>(written);
  }
  return 0;
}

}  // namespace

MarkRead ReadMarkFile(int64_t* millis, int* error) noexcept {
  *error = 0;
  const int fd = open(kMarkPath, O_RDONLY);
  if (fd < 0) {
    if (errno == ENOENT) return MarkRead::kMissing;
    *error = errno;
    return MarkRead::kUnreadable;
  }
  char text[32];
  const ssize_t length = read(fd, text, sizeof(text) - 1);
  if (length < 0) *error = errno;
  close(fd);
  if (length <= 0) return MarkRead::kUnreadable;
  text[length] = '\0';
  char* end = nullptr;
  errno = 0;
  const long long value = strtoll(text, &end, 10);
  if (end == text || *end != '\n' || end[1] != '\0' || errno != 0 || value < 0) return MarkRead::kUnreadable;
  *millis = value;
  return MarkRead::kFound;
}

int WriteMarkFile(int64_t millis) noexcept {
  if (mkdir(kMarkDir, S_IRWXU) != 0 && errno != EEXIST) return errno;
  char text[32];
  const int length = snprintf(text, sizeof(text), "%lld\n", static_cast<long long>(millis));
  const int fd = open(kMarkTempPath, O_WRONLY | O_CREAT | O_TRUNC, S_IRUSR | S_IWUSR);
  if (fd < 0) return errno;
  int error = WriteAll(fd, text, static_cast<size_t>(length));
  if (error == 0 && fsync(fd) != 0) error = errno;
  if (close(fd) != 0 && error == 0) error = errno;
  if (error == 0 && rename(kMarkTempPath, kMarkPath) != 0) error = errno;
  if (error == 0) error = FsyncPath(kMarkDir, O_RDONLY | O_DIRECTORY);  // makes the rename durable
  return error;
}

}  // namespace snowflake
