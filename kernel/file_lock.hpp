#pragma once

// An exclusive lock on a file (flock), held while the object lives: the test kernel cache locks
// an entry and an unpacked source while it builds them.

#include "base/child_proc.hpp"
#include "base/result.hpp"

#include <string>
#include <utility>

namespace harness::kernel {

class FileLock {
public:
  // Waits (saying so once through `note`) while another harness holds the lock; stops on an
  // interrupt.
  static Result<FileLock> acquire(const std::string& path, const LineSink& note);
  FileLock(FileLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock();

private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

} // namespace harness::kernel
