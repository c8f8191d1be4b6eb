#pragma once

namespace harness {

// SIGINT and SIGTERM do not kill harness: they set a flag that every waiting loop checks, so the
// current phase can stop its children, keep what it captured and mark its results partial.
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
