#include "sim/remote.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <stdexcept>

// Set by the build (bench/CMakeLists.txt) when vmh-real exists: its path, and the names it runs.
#ifndef VMH_REAL_PROGRAM
#define VMH_REAL_PROGRAM ""
#endif
#ifndef VMH_REAL_ALLOCATORS
#define VMH_REAL_ALLOCATORS ""
#endif

extern char** environ;

namespace vmh::sim {
namespace {

/// vmh-real's path: $VMH_REAL when set, else the one this build made.
std::string program() {
  const char* env = std::getenv("VMH_REAL");
  return env != nullptr && *env != '\0' ? env : VMH_REAL_PROGRAM;
}

/// Moves all n bytes with `step` (::read or ::write) on fd, retrying after signals; false when
/// the other end is gone.
template <class Step, class Byte>
bool transfer_all(Step step, int fd, Byte* p, std::size_t n) {
  while (n != 0) {
    const ssize_t done = step(fd, p, n);
    if (done < 0 && errno == EINTR) continue;
    if (done <= 0) return false;
    p += done;
    n -= static_cast<std::size_t>(done);
  }
  return true;
}
bool read_all(int fd, void* data, std::size_t n) { return transfer_all(::read, fd, static_cast<char*>(data), n); }
bool write_all(int fd, const void* data, std::size_t n) {
  return transfer_all(::write, fd, static_cast<const char*>(data), n);
}

std::uint64_t address(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }
void* pointer(std::uint64_t v) { return reinterpret_cast<void*>(static_cast<std::uintptr_t>(v)); }

}  // namespace

std::vector<std::string> real_allocator_names() {
  std::vector<std::string> names;
  std::string all = VMH_REAL_ALLOCATORS;
  for (std::size_t at = 0; at < all.size();) {
    const std::size_t end = std::min(all.find(' ', at), all.size());
    if (end > at) names.push_back(all.substr(at, end - at));
    at = end + 1;
  }
  return names;
}

std::string real_allocators_note() {
  const std::vector<std::string> names = real_allocator_names();
  if (names.empty())
    return "real Zephyr and SOF allocators not built (configure with -DVMH_ZEPHYR_BASE=... -DVMH_SOF_BASE=..., "
           "scripts/third-party.sh): models only";
  if (names.size() == 1)
    return "SOF's real allocators not built (configure with -DVMH_SOF_BASE=..., scripts/third-party.sh): "
           "the real Zephyr heap and models only";
  return "";
}

remote_allocator::remote_allocator(const std::string& name, std::size_t physical, std::size_t page, bool charged)
    : name_(name) {
  const std::string path = program();
  if (path.empty()) throw std::invalid_argument(name + ": " + real_allocators_note());
  int in[2], out[2];
  if (::pipe(in) != 0) throw std::runtime_error(name + ": cannot start vmh-real (no pipe)");
  if (::pipe(out) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    throw std::runtime_error(name + ": cannot start vmh-real (no pipe)");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  for (int fd : {in[0], in[1], out[0], out[1]}) posix_spawn_file_actions_addclose(&actions, fd);
  const std::string args[] = {path, name, std::to_string(physical), std::to_string(page), charged ? "1" : "0"};
  char* argv[] = {const_cast<char*>(args[0].c_str()), const_cast<char*>(args[1].c_str()),
                  const_cast<char*>(args[2].c_str()), const_cast<char*>(args[3].c_str()),
                  const_cast<char*>(args[4].c_str()), nullptr};
  const int rc = posix_spawn(&pid_, path.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);
  ::close(out[1]);
  to_ = in[1];
  from_ = out[0];
  if (rc != 0) {
    pid_ = -1;
    stop();
    throw std::runtime_error(name + ": cannot start " + path);
  }
  // A reply that cannot be written (vmh-real gone) must fail the write, not end this process.
  ::signal(SIGPIPE, SIG_IGN);
  if (!read_all(from_, &hello_, sizeof hello_)) {
    stop();
    throw std::runtime_error(name + ": " + path + " did not answer");
  }
  if (hello_.ok == 0) {
    std::string why(hello_.message_bytes < 4096 ? hello_.message_bytes : 4096, '\0');
    if (!read_all(from_, why.data(), why.size())) why = name + ": refused";
    stop();
    throw std::invalid_argument(why);
  }
  committed_ = hello_.committed;
}

remote_allocator::~remote_allocator() { stop(); }

void remote_allocator::stop() {
  if (to_ >= 0) ::close(to_);  // vmh-real ends when its input does
  if (from_ >= 0) ::close(from_);
  to_ = from_ = -1;
  if (pid_ > 0) {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  pid_ = -1;
}

remote::reply remote_allocator::call(const remote::request& q) const {
  remote::reply r;
  if (!write_all(to_, &q, sizeof q) || !read_all(from_, &r, sizeof r))
    throw std::runtime_error(name_ + ": vmh-real stopped (its message, if any, is above)");
  committed_ = r.committed;
  return r;
}

outcome remote_allocator::allocate(std::size_t size, std::size_t align) {
  const remote::reply r = call({remote::op::allocate, size, align});
  return {pointer(r.a), r.b};
}

outcome remote_allocator::allocate_range(std::size_t min, std::size_t preferred, std::size_t align) {
  const remote::reply r = call({remote::op::allocate_range, min, preferred, align});
  return {pointer(r.a), r.b};
}

void* remote_allocator::resize(void* ptr, std::size_t old_size, std::size_t new_size) {
  return pointer(call({remote::op::resize, address(ptr), old_size, new_size}).a);
}

std::size_t remote_allocator::grow(void* ptr, std::size_t size, std::size_t preferred, std::size_t granule) {
  return call({remote::op::grow, address(ptr), size, preferred, granule}).b;
}

void remote_allocator::deallocate(void* ptr) { call({remote::op::deallocate, address(ptr)}); }

std::size_t remote_allocator::peak_committed_bytes() const { return call({remote::op::peak}).a; }

bool remote_allocator::validate() const { return call({remote::op::validate}).a != 0; }

bool remote_allocator::paged(const void* ptr) const {
  const std::uint64_t a = address(ptr);
  return hello_.page_size != 0 && a >= hello_.paged_begin && a < hello_.paged_end;
}

std::array<std::uint64_t, 4> remote_allocator::facts(std::uint64_t which) const {
  const remote::reply r = call({remote::op::facts, which});
  return {r.a, r.b, r.c, r.d};
}

}  // namespace vmh::sim
