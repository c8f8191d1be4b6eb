#pragma once

#include <csignal>

namespace harness {

// SIGINT, SIGTERM and the other signals that would end harness without a core (kInterruptSignals)
// do not kill it: they set a flag that every waiting loop checks, so the current phase can stop
// its children, undo what it changed (namespaces, MTU), keep what it captured and mark its
// results partial (exit 130, README "Exit codes"). SIGPIPE is ignored: a write to a closed pipe
// fails with EPIPE instead.
inline constexpr int kInterruptSignals[] = {SIGINT,    SIGTERM, SIGHUP,  SIGUSR1, SIGUSR2, SIGALRM,
                                            SIGVTALRM, SIGPROF, SIGPOLL, SIGPWR,  SIGXCPU, SIGXFSZ};
void install_interrupt_handlers();

// 0 when no interrupt is pending, else the signal number received first.
int interrupt_signal();
inline bool interrupt_requested() {
  return interrupt_signal() != 0;
}

// A file descriptor that becomes readable when an interrupt arrives (for poll()).
int interrupt_fd();

// For tests: forget a delivered interrupt.
void clear_interrupt();

} // namespace harness
