#include "files.hpp"

#include "build_info.hpp"

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace harness {

Result<std::string> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail(errno == ENOENT ? Exit::usage : Exit::io, path, errno_text(errno));
  std::string data;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      return fail(Exit::io, path, errno_text(e));
    }
    if (n == 0)
      break;
    data.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return data;
}

Status write_file_atomic(const std::string& path, std::string_view data) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return fail(Exit::io, path, "cannot create " + tmp + ": " + errno_text(errno));
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return fail(Exit::io, path, errno_text(e));
    }
    off += static_cast<size_t>(n);
  }
  if (::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return fail(Exit::io, path, errno_text(e));
  }
  return {};
}

Status make_dirs(const std::string& path) {
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    if (cur.empty())
      continue;
    if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
      return fail(Exit::io, path, "cannot create directory " + cur + ": " + errno_text(errno));
  }
  return {};
}

std::string data_dir() {
  if (const char* d = std::getenv("HARNESS_DATA_DIR"); d && *d)
    return d;
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) // no /proc (a VM guest's init before it mounts /proc): the compiled-in tree
    return build_info::source_data_dir;
  return data_dir_for_exe(std::string(buf, static_cast<std::size_t>(n)));
}

std::string data_dir_for_exe(const std::string& exe) {
  namespace fs = std::filesystem;
  const fs::path bin = fs::path(exe).parent_path();
  const std::string installed = (bin / build_info::installed_data_dir).lexically_normal().string();
  std::error_code ec;
  if (fs::is_directory(installed + "/stap/maps", ec))
    return installed;
  // Only a binary of this build tree (bin/, tests/<dir>/) reads the source tree: an installed
  // binary whose data is missing must say so, not quietly use a checkout that happens to exist.
  const std::string build = fs::path(build_info::build_bin_dir).parent_path().string() + "/";
  if (exe.starts_with(build))
    return build_info::source_data_dir;
  return installed;
}

} // namespace harness
