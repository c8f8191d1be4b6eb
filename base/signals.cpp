#include "base/signals.hpp"

#include <atomic>
#include <csignal>
#include <fcntl.h>
#include <unistd.h>

namespace harness {
namespace {

std::atomic<int> g_signal{0};
int g_pipe[2] = {-1, -1};

void on_interrupt(int sig) {
  int expected = 0;
  g_signal.compare_exchange_strong(expected, sig);
  if (g_pipe[1] >= 0) {
    const char c = 1;
    [[maybe_unused]] auto n = ::write(g_pipe[1], &c, 1);
  }
}

void ensure_pipe() {
  if (g_pipe[0] >= 0)
    return;
  if (::pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
    g_pipe[0] = g_pipe[1] = -1;
}

} // namespace

void install_interrupt_handlers() {
  ensure_pipe();
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  // Every signal whose default action ends the process without a core: an SSH drop (SIGHUP),
  // a stray kill -USR1 or an alarm must restore what harness changed just as Ctrl-C does.
  for (int sig : kInterruptSignals)
    ::sigaction(sig, &sa, nullptr);
  // A closed pipe to a dead child must surface as EPIPE, not kill harness.
  ::signal(SIGPIPE, SIG_IGN);
}

int interrupt_signal() {
  return g_signal.load();
}

int interrupt_fd() {
  ensure_pipe();
  return g_pipe[0];
}

void clear_interrupt() {
  g_signal.store(0);
  if (g_pipe[0] >= 0) {
    char buf[64];
    while (::read(g_pipe[0], buf, sizeof buf) > 0) {
    }
  }
}

} // namespace harness
