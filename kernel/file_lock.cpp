#include "kernel/file_lock.hpp"

#include "base/files.hpp"
#include "base/signals.hpp"

#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <sys/file.h>
#include <thread>
#include <unistd.h>

namespace harness::kernel {

Result<FileLock> FileLock::acquire(const std::string& path, const LineSink& note) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return fail(Exit::io, path, errno_text(errno));
  bool told = false;
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) {
      const int e = errno;
      ::close(fd);
      return fail(Exit::io, path, "flock: " + errno_text(e));
    }
    if (!told && note)
      note("waiting for another harness that is preparing the same kernel (" + path + ")");
    told = true;
    if (interrupt_requested()) {
      ::close(fd);
      return fail(Exit::interrupted, path, "interrupted while waiting for the lock");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return FileLock(fd);
}

FileLock::~FileLock() {
  if (fd_ >= 0)
    ::close(fd_); // releases the lock
}

} // namespace harness::kernel
