// Small files in the data directory written so that a crash at any point leaves the old or the new contents.
#include "durable_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace snowflake {
namespace {

int FsyncPath(const char* path, int flags) noexcept {
  const int fd = open(path, flags | O_CLOEXEC);
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

bool JoinPath(char (&path)[kPathSize], const char* dir, const char* name, const char* suffix) noexcept {
  const int length = snprintf(path, kPathSize, "%s/%s%s", dir, name, suffix);
  return length > 0 && static_cast<size_t>(length) < kPathSize;
}

int WriteFileDurably(const char* dir, const char* name, const char* text, size_t length) noexcept {
  char path[kPathSize];
  char temp_path[kPathSize];
  if (!JoinPath(path, dir, name, "") || !JoinPath(temp_path, dir, name, ".tmp")) return ENAMETOOLONG;
  if (mkdir(dir, S_IRWXU) != 0 && errno != EEXIST) return errno;
  const int fd = open(temp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, S_IRUSR | S_IWUSR);
  if (fd < 0) return errno;
  int error = WriteAll(fd, text, length);
  if (error == 0 && fsync(fd) != 0) error = errno;
  if (close(fd) != 0 && error == 0) error = errno;
  if (error == 0 && rename(temp_path, path) != 0) error = errno;
  if (error == 0) error = FsyncPath(dir, O_RDONLY | O_DIRECTORY);  // makes the rename durable
  return error;
}

}  // namespace snowflake
