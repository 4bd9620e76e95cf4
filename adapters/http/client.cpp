// The curl multi loop behind HttpClient. Requests cross from callers to the
// client's thread through a queue under a mutex, and an eventfd wakes the
// thread; everything else (easy handles, the multi handle, the transfers in
// flight) belongs to that thread alone.
//
// The loop drives curl through its socket interface (curl_multi_socket_action
// on an epoll set of the sockets curl asks for), not curl_multi_perform, which
// walks every transfer on each call and polls each one's socket to see what
// it may do: six poll calls per request, the most of the thread's system calls.
//
// The connection limits (max_connections, max_per_host) are kept here, not by
// curl: a transfer curl queues for a free connection is only started by a later
// call into curl, which left it waiting for the wait's timeout (a second)
// whenever more requests went to one host than it had connections. Here a
// waiting transfer is handed to curl the moment a transfer to its host ends.

#include "adapters/http/client.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <curl/curl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "runtime/base/check.h"
#include "runtime/base/thread_name.h"

namespace waflow::http {

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kShutDown = "client shut down";

struct Transfer {
  ClientRequest request;
  HttpClient::Callback callback;
  ClientResponse response;
  Clock::time_point submitted = Clock::now();
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  std::array<char, CURL_ERROR_SIZE> error{};
  std::uint64_t max_bytes = 0;
  bool too_large = false;
  std::string host;  // "scheme://host:port" of the URL, for the per-host limit.

  Transfer() = default;
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;
  ~Transfer() {
    if (header_list != nullptr)
      curl_slist_free_all(header_list);
    if (easy != nullptr)
      curl_easy_cleanup(easy);
  }
};

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t n = size * count;
  if (t->response.body.size() + n > t->max_bytes) {
    t->too_large = true;
    return 0;  // Aborts the transfer with CURLE_WRITE_ERROR.
  }
  t->response.body.append(data, n);
  return n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t n = size * count;
  std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {
    // A new response (after a 100 Continue): its fields replace the last ones.
    t->response.headers.clear();
    return n;
  }
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos)
    return n;  // The blank line, or junk.
  std::string name = lower(trim(line.substr(0, colon)));
  std::string_view value = trim(line.substr(colon + 1));
  auto [it, inserted] = t->response.headers.try_emplace(std::move(name), value);
  if (!inserted) {
    it->second += ", ";
    it->second += value;
  }
  return n;
}

// "scheme://host:port" of a URL, lower-case: what shares connections.
std::string host_of(std::string_view url) {
  const std::size_t scheme = url.find("://");
  const std::size_t begin = scheme == std::string_view::npos ? 0 : scheme + 3;
  const std::size_t end = url.find_first_of("/?#", begin);
  std::string host(url.substr(0, end == std::string_view::npos ? url.size() : end));
  for (char& c : host) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return host;
}

bool valid_field(std::string_view text) {
  return text.find_first_of("\r\n") == std::string_view::npos;
}

}  // namespace

std::string_view ClientResponse::header(std::string_view name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string_view() : std::string_view(it->second);
}

struct HttpClient::Impl {
  ClientOptions options;
  CURLM* multi = nullptr;
  std::thread thread;
  mutable std::mutex mutex;
  std::deque<std::unique_ptr<Transfer>> queue;  // Under mutex.
  bool stopping = false;                        // Under mutex.
  std::atomic<std::size_t> pending{0};
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> active;  // Client thread only.
  std::deque<std::unique_ptr<Transfer>> waiting;                // Over a limit; client thread only.
  std::unordered_map<std::string, long> per_host;  // Transfers in flight; client thread only.
  // Easy handles of finished transfers, reset and used again: one made and
  // freed for every request cost more than curl's own work on a small send.
  std::vector<CURL*> spare;  // Client thread only.
  int epoll_fd = -1;         // The sockets curl waits on, and wake_fd.
  int wake_fd = -1;          // An eventfd: submit() and shutdown() wake the loop.
  // When curl wants curl_multi_socket_action(CURL_SOCKET_TIMEOUT); max: never.
  Clock::time_point timer_due = Clock::time_point::max();  // Client thread only.

  ~Impl() {
    for (CURL* e : spare)
      curl_easy_cleanup(e);
    if (epoll_fd >= 0)
      close(epoll_fd);
    if (wake_fd >= 0)
      close(wake_fd);
  }

  void wake() const {
    const std::uint64_t one = 1;
    // Cannot fail short of a counter at its maximum, which a pending wake-up
    // already covers.
    (void)!write(wake_fd, &one, sizeof one);
  }

  // CURLMOPT_SOCKETFUNCTION: what curl waits for on a socket, into the epoll
  // set. A socket curl never saw before has no assigned pointer; a closed one
  // leaves the set by itself, so a number used again may be there or not.
  static int on_socket(CURL*, curl_socket_t s, int what, void* user, void* assigned) {
    auto* impl = static_cast<Impl*>(user);
    if (what == CURL_POLL_REMOVE) {
      (void)epoll_ctl(impl->epoll_fd, EPOLL_CTL_DEL, s, nullptr);
      curl_multi_assign(impl->multi, s, nullptr);
      return 0;
    }
    epoll_event ev{};
    ev.events =
        ((what & CURL_POLL_IN) != 0 ? EPOLLIN : 0U) | ((what & CURL_POLL_OUT) != 0 ? EPOLLOUT : 0U);
    ev.data.fd = s;
    const int first = assigned == nullptr ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if (epoll_ctl(impl->epoll_fd, first, s, &ev) != 0) {
      (void)epoll_ctl(impl->epoll_fd, first == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s,
                      &ev);
    }
    if (assigned == nullptr)
      curl_multi_assign(impl->multi, s, impl);
    return 0;
  }

  // CURLMOPT_TIMERFUNCTION: when curl wants to run its timeouts next.
  static int on_timer(CURLM*, long timeout_ms, void* user) {
    auto* impl = static_cast<Impl*>(user);
    impl->timer_due = timeout_ms < 0 ? Clock::time_point::max()
                                     : Clock::now() + std::chrono::milliseconds(timeout_ms);
    return 0;
  }

  // Completes what curl finished; a finished transfer makes room for one
  // that waited, which starts now.
  void take_finished() {
    int left = 0;
    bool finished = false;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
      if (msg->msg == CURLMSG_DONE) {
        finish(msg->easy_handle, msg->data.result);
        finished = true;
      }
    }
    if (finished)
      start_waiting();
  }

  bool fits(const Transfer& t) const {
    if (static_cast<long>(active.size()) >= options.max_connections) {
      return false;
    }
    auto it = per_host.find(t.host);
    return it == per_host.end() || it->second < options.max_per_host;
  }

  // Hands a transfer to curl now, or keeps it until its host has room.
  void admit(std::unique_ptr<Transfer> t) {
    t->host = host_of(t->request.url);
    waiting.push_back(std::move(t));
    start_waiting();
  }

  // Starts the waiting transfers that fit, oldest first (so requests to one
  // host start in the order they were made, and a busy host holds up no other).
  void start_waiting() {
    for (auto it = waiting.begin(); it != waiting.end();) {
      if (fits(**it)) {
        std::unique_ptr<Transfer> t = std::move(*it);
        it = waiting.erase(it);
        begin(std::move(t));
      } else {
        ++it;
      }
    }
  }

  void complete(std::unique_ptr<Transfer> t) {
    t->response.elapsed_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t->submitted).count();
    if (!t->response.error.empty())
      t->response.status = 0;
    HttpClient::Callback callback = std::move(t->callback);
    ClientResponse response = std::move(t->response);
    t.reset();  // The easy handle goes before the callback may submit more.
    pending.fetch_sub(1);
    try {
      callback(std::move(response));
    } catch (...) {
      // A throwing callback must not end the loop that serves every other request.
    }
  }

  void fail(std::unique_ptr<Transfer> t, std::string error) {
    t->response.error = std::move(error);
    complete(std::move(t));
  }

  // Builds the easy handle; on a request that cannot be sent, completes it.
  void begin(std::unique_ptr<Transfer> t) {
    const ClientRequest& r = t->request;
    if (!r.url.starts_with("http://") && !r.url.starts_with("https://")) {
      fail(std::move(t), "unsupported URL '" + r.url + "': only http:// and https://");
      return;
    }
    if (r.method.empty() || !valid_field(r.method) || r.method.find(' ') != std::string::npos) {
      fail(std::move(t), "invalid method '" + r.method + "'");
      return;
    }
    for (const auto& [name, value] : r.headers) {
      if (name.empty() || !valid_field(name) || !valid_field(value) ||
          name.find(':') != std::string::npos) {
        fail(std::move(t), "invalid header field '" + name + "'");
        return;
      }
      // "Name;" sends a header with an empty value ("Name:" would remove it).
      std::string line = value.empty() ? name + ";" : name + ": " + value;
      t->header_list = curl_slist_append(t->header_list, line.c_str());
    }
    // No "Expect: 100-continue" round trip before larger bodies.
    t->header_list = curl_slist_append(t->header_list, "Expect:");
    if (!spare.empty()) {
      t->easy = spare.back();
      spare.pop_back();
    } else {
      t->easy = curl_easy_init();
    }
    if (t->easy == nullptr || t->header_list == nullptr) {
      fail(std::move(t), "out of memory");
      return;
    }
    CURL* e = t->easy;
    std::int64_t timeout = r.timeout_ms > 0 ? r.timeout_ms : options.default_timeout_ms;
    curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, options.user_agent.c_str());
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::min(timeout, options.connect_timeout_ms)));
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->header_list);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error.data());
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
    if (r.method == "HEAD") {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (r.method == "GET" && r.body.empty()) {
      curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (!r.body.empty() || r.method == "POST") {
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, r.body.data());  // Lives in the transfer.
      if (r.method != "POST")
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    } else {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    }
    t->max_bytes = options.max_response_bytes;
    CURLMcode rc = curl_multi_add_handle(multi, e);
    if (rc != CURLM_OK) {
      fail(std::move(t), curl_multi_strerror(rc));
      return;
    }
    ++per_host[t->host];
    active.emplace(e, std::move(t));
  }

  void finish(CURL* easy, CURLcode result) {
    auto it = active.find(easy);
    if (it == active.end())
      return;
    std::unique_ptr<Transfer> t = std::move(it->second);
    active.erase(it);
    curl_multi_remove_handle(multi, easy);
    if (auto host = per_host.find(t->host); host != per_host.end() && --host->second <= 0) {
      per_host.erase(host);
    }
    if (result == CURLE_OK) {
      long status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      t->response.status = static_cast<int>(status);
    } else if (t->too_large) {
      t->response.error =
          "response body over " + std::to_string(options.max_response_bytes) + " bytes";
    } else if (t->error[0] != '\0') {
      t->response.error = t->error.data();
    } else {
      t->response.error = curl_easy_strerror(result);
    }
    if (spare.size() < static_cast<std::size_t>(options.max_connections)) {
      // Back to its defaults; connections stay in the multi handle's cache.
      curl_easy_reset(easy);
      spare.push_back(easy);
      t->easy = nullptr;
    }
    complete(std::move(t));
  }

  void run() {
    while (true) {
      std::deque<std::unique_ptr<Transfer>> incoming;
      bool stop;
      {
        std::lock_guard lock(mutex);
        incoming.swap(queue);
        stop = stopping;
      }
      if (stop) {
        for (auto& t : incoming)
          fail(std::move(t), kShutDown);
        while (!waiting.empty()) {
          std::unique_ptr<Transfer> t = std::move(waiting.front());
          waiting.pop_front();
          fail(std::move(t), kShutDown);
        }
        while (!active.empty()) {
          auto it = active.begin();
          std::unique_ptr<Transfer> t = std::move(it->second);
          active.erase(it);
          curl_multi_remove_handle(multi, t->easy);
          fail(std::move(t), kShutDown);
        }
        return;
      }
      for (auto& t : incoming)
        admit(std::move(t));
      int running = 0;
      // Curl's timeouts, and the start of transfers just added (their timer
      // is due at once).
      if (Clock::now() >= timer_due) {
        timer_due = Clock::time_point::max();
        curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
        take_finished();
        continue;
      }
      // The wait ends when a socket is ready, curl's timer is due, or
      // submit()/shutdown() wakes it.
      long wait_ms = 1000;
      if (timer_due != Clock::time_point::max()) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(timer_due - Clock::now());
        wait_ms = std::clamp<long>(static_cast<long>(left.count()), 0, 1000);
      }
      std::array<epoll_event, 64> events{};
      const int n = epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()),
                               static_cast<int>(wait_ms));
      for (int i = 0; i < n; ++i) {
        const epoll_event& ev = events[static_cast<std::size_t>(i)];
        if (ev.data.fd == wake_fd) {
          std::uint64_t count = 0;
          (void)!read(wake_fd, &count, sizeof count);
          continue;
        }
        int mask = 0;
        if ((ev.events & EPOLLIN) != 0)
          mask |= CURL_CSELECT_IN;
        if ((ev.events & EPOLLOUT) != 0)
          mask |= CURL_CSELECT_OUT;
        if ((ev.events & (EPOLLERR | EPOLLHUP)) != 0)
          mask |= CURL_CSELECT_ERR;
        curl_multi_socket_action(multi, ev.data.fd, mask, &running);
      }
      take_finished();
    }
  }
};

HttpClient::HttpClient(ClientOptions options) : impl_(std::make_unique<Impl>()) {
  static std::once_flag curl_ready;
  std::call_once(curl_ready, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  impl_->options = std::move(options);
  impl_->multi = curl_multi_init();
  WAFLOW_CHECK(impl_->multi != nullptr, "curl_multi_init failed");
  // The limits are kept by Impl::admit (see the top of this file); curl only
  // caches up to max_connections idle connections.
  curl_multi_setopt(impl_->multi, CURLMOPT_MAXCONNECTS, impl_->options.max_connections);
  impl_->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  impl_->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  WAFLOW_CHECK(impl_->epoll_fd >= 0 && impl_->wake_fd >= 0, "cannot make the client's epoll set");
  epoll_event wake{};
  wake.events = EPOLLIN;
  wake.data.fd = impl_->wake_fd;
  WAFLOW_CHECK(epoll_ctl(impl_->epoll_fd, EPOLL_CTL_ADD, impl_->wake_fd, &wake) == 0,
               "cannot watch the client's eventfd");
  curl_multi_setopt(impl_->multi, CURLMOPT_SOCKETFUNCTION, &Impl::on_socket);
  curl_multi_setopt(impl_->multi, CURLMOPT_SOCKETDATA, impl_.get());
  curl_multi_setopt(impl_->multi, CURLMOPT_TIMERFUNCTION, &Impl::on_timer);
  curl_multi_setopt(impl_->multi, CURLMOPT_TIMERDATA, impl_.get());
  impl_->thread = std::thread([impl = impl_.get()] {
    name_this_thread("wf-http-client");
    impl->run();
  });
}

HttpClient::~HttpClient() {
  WAFLOW_CHECK(std::this_thread::get_id() != impl_->thread.get_id(),
               "an HttpClient is destroyed from one of its own callbacks");
  shutdown();
  curl_multi_cleanup(impl_->multi);
}

void HttpClient::submit(ClientRequest request, Callback callback) {
  WAFLOW_CHECK(callback != nullptr, "submit() needs a callback");
  auto t = std::make_unique<Transfer>();
  t->request = std::move(request);
  t->callback = std::move(callback);
  impl_->pending.fetch_add(1);
  // Only a request that finds the queue empty wakes the thread: one queued
  // before it has woken the thread already, which takes the whole queue at
  // once (a batch of replies costs one wake-up, not one each).
  bool first = false;
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->stopping) {
      first = impl_->queue.empty();
      impl_->queue.push_back(std::move(t));
    }
  }
  if (t) {
    impl_->fail(std::move(t), kShutDown);
    return;
  }
  if (first) {
    impl_->wake();
  }
}

ClientResponse HttpClient::fetch(ClientRequest request) {
  WAFLOW_CHECK(std::this_thread::get_id() != impl_->thread.get_id(),
               "fetch() from a client callback would wait for itself");
  std::promise<ClientResponse> promise;
  std::future<ClientResponse> future = promise.get_future();
  submit(std::move(request),
         [&promise](ClientResponse response) { promise.set_value(std::move(response)); });
  return future.get();
}

void HttpClient::shutdown() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  if (!impl_->thread.joinable())
    return;
  impl_->wake();
  // From a callback the loop ends after it returns; the destructor joins.
  if (std::this_thread::get_id() == impl_->thread.get_id())
    return;
  impl_->thread.join();
}

std::size_t HttpClient::pending() const {
  return impl_->pending.load();
}

}  // namespace waflow::http
