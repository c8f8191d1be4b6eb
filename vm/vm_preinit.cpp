// harness-vm-preinit: the guest's first program where harness cannot be PID 1 itself.
// - A harness built with AddressSanitizer: ASan reads /proc/self/maps before main(), and PID 1
//   starts without /proc. Preinit mounts /proc, then execs `harness vm-guest ...` (its
//   arguments) as PID 1.
// - A stock distribution kernel (vm/initramfs.hpp): preinit is the initramfs's /init. It loads
//   the modules in /modules (in name order: the host numbered them in load order), mounts the
//   host's root over 9p, makes it / and goes on as above.
// Linked statically (the initramfs holds no libc) and never instrumented; no C++ runtime beyond
// main, no dependencies.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <string>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

namespace {

void say_error(const char* what, const char* detail) {
  std::printf("HXVM ERROR preinit: %s %s: %s\n", what, detail, std::strerror(errno));
  std::fflush(stdout);
}

// Every /modules/NN-NAME.ko, in name order. One that does not load is reported; the guest's
// own checks then say what is missing (a 9p root that cannot be mounted ends the boot below).
void load_modules() {
  DIR* d = ::opendir("/modules");
  if (!d) {
    say_error("open", "/modules");
    return;
  }
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d))
    if (e->d_name[0] != '.')
      names.emplace_back(e->d_name);
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    const std::string path = "/modules/" + n;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      say_error("open", path.c_str());
      continue;
    }
    if (::syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST)
      say_error("load module", path.c_str());
    ::close(fd);
  }
}

// The host's root (9p tag "root", as vm/qemu_command.cpp names it) made /. The virtio device
// is bound while its driver module loads; the retries cover a late probe, bounded.
bool switch_to_9p_root() {
  const char* opts = "trans=virtio,version=9p2000.L,msize=262144";
  int tries = 0;
  while (::mount("root", "/newroot", "9p", MS_RDONLY, opts) != 0) {
    if (++tries == 100) {
      say_error("mount 9p root on", "/newroot");
      return false;
    }
    ::usleep(50 * 1000);
  }
  if (::chdir("/newroot") != 0 || ::mount(".", "/", nullptr, MS_MOVE, nullptr) != 0 ||
      ::chroot(".") != 0 || ::chdir("/") != 0) {
    say_error("switch root to", "/newroot");
    return false;
  }
  return true;
}

[[noreturn]] void give_up() {
  ::sync();
  ::reboot(RB_AUTOBOOT); // init must not exit: that panics the kernel
  ::_exit(1);
}

} // namespace

int main(int argc, char** argv) {
  if (::getpid() != 1 || argc < 2 || argv[1][0] != '/') {
    std::fprintf(stderr, "harness-vm-preinit: the init of a harness VM (sanitizer builds, stock "
                         "kernels); usage (kernel command line): init=PREINIT -- /abs/harness "
                         "vm-guest ...\n");
    return 2;
  }
  if (::access("/harness-initramfs", F_OK) == 0) { // vm/initramfs.hpp kInitramfsMarker
    load_modules();
    if (!switch_to_9p_root())
      give_up();
  }
  if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
    say_error("mount", "proc");
  std::fflush(stdout);
  ::execv(argv[1], argv + 1);
  say_error("exec", argv[1]);
  give_up();
}
