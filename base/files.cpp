#include "base/files.hpp"

#include "base/build_info.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

namespace harness {
namespace {

std::string kind_of(mode_t m) {
  if (S_ISREG(m))
    return "a regular file";
  if (S_ISDIR(m))
    return "a directory";
  if (S_ISFIFO(m))
    return "a FIFO";
  if (S_ISCHR(m))
    return "a character device";
  if (S_ISBLK(m))
    return "a block device";
  if (S_ISSOCK(m))
    return "a socket";
  if (S_ISLNK(m))
    return "a symbolic link";
  return "not a regular file";
}

std::string dir_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string random_hex() {
  unsigned char b[8] = {};
  if (::getrandom(b, sizeof b, 0) != static_cast<ssize_t>(sizeof b)) {
    // getrandom cannot fail for 8 bytes after boot; O_EXCL still guards the name.
    const auto t = static_cast<unsigned long>(::getpid()) ^ reinterpret_cast<std::uintptr_t>(b);
    for (std::size_t i = 0; i < sizeof b; ++i)
      b[i] = static_cast<unsigned char>(t >> (i * 8));
  }
  char out[2 * sizeof b + 1];
  for (std::size_t i = 0; i < sizeof b; ++i)
    std::snprintf(out + 2 * i, 3, "%02x", b[i]);
  return out;
}

Status write_all(int fd, std::string_view data) {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return fail(Exit::io, "", errno_text(errno));
    off += static_cast<size_t>(n);
  }
  return {};
}

} // namespace

Result<int> open_regular_file(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; cleared again for a regular file.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    return fail(e == ENOENT || e == ENOTDIR ? Exit::usage : Exit::io, path, errno_text(e));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const std::string kind = kind_of(st.st_mode);
    ::close(fd);
    return fail(Exit::usage, path, "is " + kind + ", not a regular file",
                "give the path of a regular file");
  }
  (void)::fcntl(fd, F_SETFL, 0);
  return fd;
}

Result<std::string> read_file(const std::string& path) {
  auto opened = open_regular_file(path);
  if (!opened)
    return std::unexpected(opened.error());
  const int fd = *opened;
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

Result<std::string> read_input(std::string_view option, const std::string& path,
                               std::string_view wants) {
  return load_input(read_file, option, path, wants);
}

Error input_error(Error e, std::string_view option, const std::string& path,
                  std::string_view wants) {
  e.what = std::string(option) + " " + path;
  e.hint = wants;
  return e;
}

namespace {

// A new temporary file next to `path` (".NAME.RANDOM.tmp", never an existing one); its fd, or -1
// with errno set.
int create_temp_beside(const std::string& path, std::string& tmp) {
  const std::string dir = dir_of(path);
  int fd = -1;
  for (int attempt = 0; attempt < 8 && fd < 0; ++attempt) {
    tmp = dir + "/." + base_of(path) + "." + random_hex() + ".tmp";
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 && errno != EEXIST)
      break;
  }
  return fd;
}

} // namespace

Status check_output_path(const std::string& path, std::string_view what) {
  const std::string label = what.empty() ? path : std::string(what) + " " + path;
  if (path.empty() || path.back() == '/')
    return fail(Exit::usage, label, "is not a file name", "give the path of a file to write");
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode))
      return fail(Exit::usage, label,
                  "is " + kind_of(st.st_mode) + "; harness replaces only regular files",
                  "give the path of a regular file or of a new file");
  } else if (errno != ENOENT) {
    return fail(Exit::io, label, errno_text(errno));
  }
  const std::string dir = dir_of(path);
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return fail(Exit::usage, label, "directory " + dir + " does not exist",
                "create the directory first or choose another path");
  // Tried, not assumed: access(W_OK) says yes to root on sysfs, procfs or a read-only mount,
  // where the temporary file of write_file_atomic cannot be made after the work is done.
  std::string tmp;
  const int fd = create_temp_beside(path, tmp);
  if (fd < 0)
    return fail(Exit::io, label,
                "a file cannot be created in directory " + dir + ": " + errno_text(errno),
                "choose a directory of an ordinary file system that you can write");
  ::close(fd);
  ::unlink(tmp.c_str());
  return {};
}

Status check_output_not_input(const std::string& output, std::string_view what,
                              const std::vector<std::string>& inputs) {
  struct stat out {};
  if (::stat(output.c_str(), &out) != 0)
    return {}; // a new file cannot be an input
  for (const auto& in : inputs) {
    struct stat st {};
    if (!in.empty() && ::stat(in.c_str(), &st) == 0 && st.st_dev == out.st_dev &&
        st.st_ino == out.st_ino)
      return fail(Exit::usage, std::string(what) + " " + output,
                  "is the input " + in + "; writing it would destroy the input",
                  "write the output to another file");
  }
  return {};
}

bool directly_in(const std::string& file, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec, dir_ec;
  const auto abs = fs::absolute(file, ec).lexically_normal();
  auto d = fs::absolute(dir, dir_ec).lexically_normal();
  if (!d.has_filename())
    d = d.parent_path();
  return !ec && !dir_ec && !dir.empty() && abs.has_filename() && abs.parent_path() == d;
}

Status check_outputs(const std::vector<std::pair<std::string, std::string>>& outputs,
                     const std::vector<std::string>& inputs, const std::string& made_dir) {
  namespace fs = std::filesystem;
  std::error_code made_ec;
  const bool dir_is_new = !made_dir.empty() && !fs::exists(made_dir, made_ec) && !made_ec;
  std::vector<std::pair<std::string, fs::path>> seen; // option, resolved path
  for (const auto& [what, path] : outputs) {
    if (path.empty())
      continue;
    if (!(dir_is_new && directly_in(path, made_dir)))
      if (auto s = check_output_path(path, what); !s)
        return s;
    if (auto s = check_output_not_input(path, what, inputs); !s)
      return s;
    std::error_code ec;
    const fs::path resolved = fs::weakly_canonical(fs::absolute(path, ec), ec);
    for (const auto& [other, other_path] : seen)
      if (!ec && resolved == other_path)
        return fail(Exit::usage, what + " " + path, "is also the file of " + other,
                    "give each output its own file");
    seen.emplace_back(what, resolved);
  }
  return {};
}

Status write_file_atomic(const std::string& path, std::string_view data) {
  if (auto s = check_output_path(path, ""); !s)
    return s;
  const std::string dir = dir_of(path);
  std::string tmp;
  const int fd = create_temp_beside(path, tmp);
  if (fd < 0)
    return fail(Exit::io, path,
                "cannot create a temporary file in " + dir + ": " + errno_text(errno));
  auto written = write_all(fd, data);
  if (::close(fd) != 0 && written)
    written = fail(Exit::io, "", errno_text(errno));
  if (written && ::rename(tmp.c_str(), path.c_str()) != 0)
    written = fail(Exit::io, "", errno_text(errno));
  if (!written) {
    ::unlink(tmp.c_str());
    return fail(Exit::io, path, written.error().why);
  }
  return {};
}

Status copy_file_atomic(const std::string& from, const std::string& to) {
  auto data = read_file(from);
  if (!data)
    return std::unexpected(data.error());
  return write_file_atomic(to, *data);
}

Status make_dirs(const std::string& path) {
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    if (cur.empty())
      continue;
    if (::mkdir(cur.c_str(), 0755) == 0)
      continue;
    const int e = errno;
    // An existing file, FIFO or device where a directory should be is the user's path, not an
    // I/O failure: bad input (exit 2), named, never written into later with a puzzling error.
    struct stat st {};
    if ((e == EEXIST || e == ENOTDIR) && ::stat(cur.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode))
        continue;
      return fail(Exit::usage, path,
                  (cur == path ? "is " : cur + " is ") + kind_of(st.st_mode) + ", not a directory",
                  "give the path of a directory, or of a new one");
    }
    return fail(Exit::io, path, "cannot create directory " + cur + ": " + errno_text(e));
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
  if (fs::is_directory(installed + "/probes/maps", ec))
    return installed;
  // Only a binary of this build tree (bin/, tests/<dir>/) reads the source tree: an installed
  // binary whose data is missing must say so, not quietly use a checkout that happens to exist.
  const std::string build = fs::path(build_info::build_bin_dir).parent_path().string() + "/";
  if (exe.starts_with(build))
    return build_info::source_data_dir;
  return installed;
}

} // namespace harness
