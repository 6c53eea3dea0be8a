// This server's identity at the coordination database: the node (kept in the data directory) and the run.
#include "node_id.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace snowflake {

char lease_incarnation[kUuidLength + 1];

namespace {

constexpr const char* kNodeIdName = "node_id";
constexpr const char* kNodeIdPath = "pg_snowflake/node_id";

// A random (version 4) uuid as text, from the server's strong random source.
void RandomUuid(char* out) {
  uint8 bytes[16];
  if (!pg_strong_random(bytes, sizeof(bytes)))
    ereport(ERROR, (errmsg("snowflake: could not generate a random node identity")));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  static const char kHex[] = "0123456789abcdef";
  int at = 0;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[at++] = '-';
    out[at++] = kHex[bytes[i] >> 4];
    out[at++] = kHex[bytes[i] & 0x0f];
  }
  out[at] = '\0';
}

}  // namespace

void ChooseLeaseIncarnation() { RandomUuid(lease_incarnation); }

void LoadNodeId(char* id) {
  const int fd = open(kNodeIdPath, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char text[64];
    const ssize_t length = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (length == kUuidLength + 1 && text[kUuidLength] == '\n') {
      memcpy(id, text, kUuidLength);
      id[kUuidLength] = '\0';
      return;
    }
    ereport(ERROR, (errmsg("snowflake: \"%s\" is not a node identity", kNodeIdPath),
                    errhint("Remove it: this server then takes a new identity and a new machine id.")));
  }
  if (errno != ENOENT)
    ereport(ERROR, (errcode_for_file_access(), errmsg("snowflake: could not read \"%s\": %m", kNodeIdPath)));
  NewNodeId(id);
  ereport(LOG, (errmsg("snowflake: this server's node identity is %s", id)));
}

void NewNodeId(char* id) {
  RandomUuid(id);
  char text[kUuidLength + 1];
  memcpy(text, id, kUuidLength);
  text[kUuidLength] = '\n';
  if (const int error = WriteFileDurably(kSnowflakeDir, kNodeIdName, text, sizeof(text))) {
    errno = error;
    ereport(ERROR, (errcode_for_file_access(), errmsg("snowflake: could not write \"%s\": %m", kNodeIdPath)));
  }
}

}  // namespace snowflake
