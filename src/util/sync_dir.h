// fsync of a directory. A file's own fsync makes its data durable, not its
// name: the entry that creating, renaming or deleting a file changes is in
// its directory, and POSIX makes it durable only with an fsync of that
// directory (ext4 in its default mode happens to persist it with the next
// journal commit; other file systems and modes do not). So whatever must
// survive a power loss in a new file, or under a new name, needs its
// directory synced too, and a new directory its parent.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "edgekv/status.h"

namespace edgekv::wal {

inline Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("open " + dir + ": " + std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Status::IOError("fsync of " + dir + ": " + std::strerror(err));
  return Status::Ok();
}

// The directory's parent: ".." for ".", "." for another relative name
// without a slash.
inline std::string ParentDir(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (dir == ".") return "..";
  size_t slash = dir.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : dir.substr(0, slash);
}

// The directory's entries, then its own entry in its parent (a directory
// this process may have created).
inline Status SyncDirAndParent(const std::string& dir) {
  Status s = SyncDir(dir);
  return s.ok() ? SyncDir(ParentDir(dir)) : s;
}

}  // namespace edgekv::wal
