// Bounded, thread-safe hls::stream for attendnets' threaded C simulation (hw/sim/threaded.py).
//
// The threaded build puts this file's folder first on the include path, so every
// '#include "hls_stream.h"' of the firmware finds it instead of the ap_types model, whose streams
// are unbounded std::deques that a write never waits on.  Here:
//   * read() blocks while the stream is empty; write() blocks while a bounded stream holds
//     `depth` elements (attendnets_bound(depth), called by the threaded top for every stream
//     between two dataflow processes, with the depth of the project's #pragma HLS STREAM);
//     unbounded streams (top-level ports, streams inside one kernel) never block a write;
//   * outside the threaded dataflow (the main thread, or the project's own top function run in it
//     by --sequential), a read of an empty stream ends the program with exit status 5: nothing
//     could ever fill it, where the ap_types model would warn and return a default value;
//   * every process runs in its own thread (attendnets_sim::Network); one lock guards all
//     streams, so the watchdog sees a consistent state and detects a deadlock exactly: every
//     unfinished process waits on a stream whose condition (data to read, room to write) is
//     still unmet.  It then prints which streams are full and which processes wait on what, and
//     ends the program with exit status 3 (threads blocked forever cannot be joined).
#ifndef ATTENDNETS_BOUNDED_HLS_STREAM_H
#define ATTENDNETS_BOUNDED_HLS_STREAM_H

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace attendnets_sim {

struct StreamBase {
    std::string name;
    size_t depth = 0; // 0: unbounded
    size_t peak = 0;  // most elements held at once
    virtual size_t held() const = 0;
    virtual ~StreamBase() {}
};

struct Process {
    std::string name;
    enum State { RUNNING, READING, WRITING, DONE } state = RUNNING;
    const StreamBase *on = nullptr; // the stream a READING/WRITING process waits on
};

struct Peak {
    std::string name;
    size_t depth, peak;
};

struct Monitor {
    std::mutex lock;
    std::vector<StreamBase *> streams; // bounded streams of the running call, in declaration order
    std::vector<Peak> peaks;           // per bounded stream, the most it held over every call so far
    unsigned long long operations = 0;
};

inline Monitor &monitor() {
    static Monitor m;
    return m;
}

inline Process *&current() {
    thread_local Process *p = nullptr;
    return p;
}

// Called with the monitor lock held: park the calling process on `cv` until `ready()`.
template <class Ready>
void wait(std::unique_lock<std::mutex> &held, std::condition_variable &cv, const StreamBase *s, Process::State why,
          Ready ready) {
    Process *p = current();
    if (!p && !ready()) { // no other thread could ever change this stream: C simulation's empty read
        std::fprintf(stderr, "attendnets-threaded: %s of %s outside the threaded dataflow would wait forever\n",
                     why == Process::READING ? "a read of empty stream" : "a write to full stream", s->name.c_str());
        std::_Exit(5);
    }
    while (!ready()) {
        p->state = why;
        p->on = s;
        cv.wait(held);
    }
    if (p) {
        p->state = Process::RUNNING;
        p->on = nullptr;
    }
}

} // namespace attendnets_sim

namespace hls {

template <typename T> class stream : public attendnets_sim::StreamBase {
    std::deque<T> data_;
    std::condition_variable changed_;

  public:
    stream() { name = "hls_stream"; }
    explicit stream(const char *n) { name = n; }
    explicit stream(const std::string &n) { name = n; }
    stream(const stream &) = delete;
    stream &operator=(const stream &) = delete;

    // attendnets extension: make this stream a FIFO of `depth` elements between two processes
    void attendnets_bound(size_t depth) {
        std::lock_guard<std::mutex> g(attendnets_sim::monitor().lock);
        this->depth = depth;
        attendnets_sim::monitor().streams.push_back(this);
    }

    size_t held() const override { return data_.size(); }

    bool empty() {
        std::lock_guard<std::mutex> g(attendnets_sim::monitor().lock);
        return data_.empty();
    }
    bool full() {
        std::lock_guard<std::mutex> g(attendnets_sim::monitor().lock);
        return depth && data_.size() >= depth;
    }
    size_t size() {
        std::lock_guard<std::mutex> g(attendnets_sim::monitor().lock);
        return data_.size();
    }

    void read(T &out) {
        std::unique_lock<std::mutex> held(attendnets_sim::monitor().lock);
        attendnets_sim::wait(held, changed_, this, attendnets_sim::Process::READING, [&] { return !data_.empty(); });
        out = data_.front();
        data_.pop_front();
        attendnets_sim::monitor().operations++;
        changed_.notify_all();
    }
    T read() {
        T out;
        read(out);
        return out;
    }
    bool read_nb(T &out) {
        std::lock_guard<std::mutex> g(attendnets_sim::monitor().lock);
        if (data_.empty())
            return false;
        out = data_.front();
        data_.pop_front();
        attendnets_sim::monitor().operations++;
        changed_.notify_all();
        return true;
    }
    void operator>>(T &out) { read(out); }

    void write(const T &in) {
        std::unique_lock<std::mutex> held(attendnets_sim::monitor().lock);
        attendnets_sim::wait(held, changed_, this, attendnets_sim::Process::WRITING,
                             [&] { return !depth || data_.size() < depth; });
        data_.push_back(in);
        peak = data_.size() > peak ? data_.size() : peak;
        attendnets_sim::monitor().operations++;
        changed_.notify_all();
    }
    bool write_nb(const T &in) {
        std::lock_guard<std::mutex> g(attendnets_sim::monitor().lock);
        if (depth && data_.size() >= depth)
            return false;
        data_.push_back(in);
        peak = data_.size() > peak ? data_.size() : peak;
        attendnets_sim::monitor().operations++;
        changed_.notify_all();
        return true;
    }
    void operator<<(const T &in) { write(in); }
};

} // namespace hls

namespace attendnets_sim {

// The dataflow region: one thread per process, a watchdog in the calling thread.
class Network {
    std::vector<Process> processes_;
    std::vector<std::function<void()>> bodies_;

    static bool stuck(const Process &p) {
        if (p.state == Process::READING)
            return p.on->held() == 0;
        if (p.state == Process::WRITING)
            return p.on->depth && p.on->held() >= p.on->depth;
        return false;
    }

    void report(const char *why) {
        std::fprintf(stderr, "attendnets-threaded: %s\n", why);
        for (const StreamBase *s : monitor().streams)
            std::fprintf(stderr, "STREAM %s depth=%zu held=%zu peak=%zu%s\n", s->name.c_str(), s->depth, s->held(),
                         s->peak, s->depth && s->held() >= s->depth ? " FULL" : (s->held() ? "" : " EMPTY"));
        static const char *states[] = {"running", "blocked-read", "blocked-write", "done"};
        for (const Process &p : processes_)
            std::fprintf(stderr, "PROCESS %s %s%s%s\n", p.name.c_str(), states[p.state], p.on ? " " : "",
                         p.on ? p.on->name.c_str() : "");
        std::fflush(stderr);
    }

  public:
    explicit Network(size_t count) { processes_.reserve(count); }

    void process(const char *name, std::function<void()> body) {
        processes_.push_back(Process());
        processes_.back().name = name;
        bodies_.push_back(body);
    }

    // Runs every process to completion; on a deadlock (or no progress for timeout_ms) it reports
    // and ends the program: exit 3 (deadlock) or 4 (timeout).
    void run(long timeout_ms) {
        std::vector<std::thread> threads;
        for (size_t i = 0; i < bodies_.size(); i++)
            threads.emplace_back([this, i] {
                current() = &processes_[i];
                bodies_[i]();
                std::lock_guard<std::mutex> g(monitor().lock);
                processes_[i].state = Process::DONE;
            });
        auto last_change = std::chrono::steady_clock::now();
        unsigned long long last_ops = ~0ull;
        for (;;) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            std::lock_guard<std::mutex> g(monitor().lock);
            size_t done = 0, stuck_count = 0;
            for (const Process &p : processes_) {
                done += p.state == Process::DONE;
                stuck_count += stuck(p);
            }
            if (done == processes_.size())
                break;
            if (done + stuck_count == processes_.size()) {
                report("DEADLOCK: every unfinished process waits on a stream that cannot change");
                std::_Exit(3);
            }
            auto now = std::chrono::steady_clock::now();
            if (monitor().operations != last_ops) {
                last_ops = monitor().operations;
                last_change = now;
            } else if (std::chrono::duration_cast<std::chrono::milliseconds>(now - last_change).count() > timeout_ms) {
                report("TIMEOUT: no stream operation for the watchdog's timeout");
                std::_Exit(4);
            }
        }
        for (std::thread &t : threads)
            t.join();
        std::lock_guard<std::mutex> g(monitor().lock);
        for (size_t i = 0; i < monitor().streams.size(); i++) {
            const StreamBase *s = monitor().streams[i];
            if (monitor().peaks.size() <= i)
                monitor().peaks.push_back(Peak{s->name, s->depth, 0});
            monitor().peaks[i].peak = s->peak > monitor().peaks[i].peak ? s->peak : monitor().peaks[i].peak;
        }
        monitor().streams.clear(); // the streams live in the caller's frame, which ends now
    }
};

} // namespace attendnets_sim

#endif
