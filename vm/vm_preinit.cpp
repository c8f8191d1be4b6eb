// harness-vm-preinit: the guest's first program when harness itself is built with
// AddressSanitizer. ASan reads /proc/self/maps before main(), and PID 1 starts without /proc,
// so an ASan harness cannot be the guest's init directly. This program (built without
// sanitizers) mounts /proc, then execs `harness vm-guest ...` (its arguments) as PID 1.
// Not a library: no C++ runtime beyond main, no dependencies.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (::getpid() != 1 || argc < 2 || argv[1][0] != '/') {
    std::fprintf(stderr,
                 "harness-vm-preinit: the init of a harness VM built with sanitizers; "
                 "usage (kernel command line): init=PREINIT -- /abs/harness vm-guest ...\n");
    return 2;
  }
  if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
    std::printf("HXVM ERROR preinit: mount proc: %s\n", std::strerror(errno));
  std::fflush(stdout);
  ::execv(argv[1], argv + 1);
  std::printf("HXVM ERROR preinit: exec %s: %s\n", argv[1], std::strerror(errno));
  std::fflush(stdout);
  ::sync();
  ::reboot(RB_AUTOBOOT); // init must not exit: that panics the kernel
  return 1;
}
