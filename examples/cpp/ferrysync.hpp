// Small RAII layer over ferrysync.h for the C++ examples: every handle in a unique_ptr with
// its _free as deleter, every failing ferry_result thrown as ferry::Error.
#pragma once

#include <ferrysync.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

namespace ferry {

// A failed call: its result code and the detail of the last error on this thread.
class Error : public std::runtime_error {
public:
    Error(const std::string &what, ferry_result code)
        : std::runtime_error(what + ": " + last_error()), code_(code) {}
    ferry_result code() const noexcept { return code_; }

    static std::string last_error() {
        std::size_t n = 0;
        ferry_last_error_message(nullptr, 0, &n); // asks for the length
        std::string text(n + 1, '\0');
        if (ferry_last_error_message(&text[0], text.size(), &n) != FERRY_RESULT_OK) return {};
        text.resize(n);
        return text;
    }

private:
    ferry_result code_;
};

inline void check(ferry_result rc, const char *what) {
    if (rc != FERRY_RESULT_OK) throw Error(what, rc);
}

template <typename T, void (*Free)(T *)>
struct Deleter {
    void operator()(T *p) const noexcept { Free(p); }
};

using Profile = std::unique_ptr<ferry_profile, Deleter<ferry_profile, ferry_profile_free>>;
using Engine = std::unique_ptr<ferry_engine, Deleter<ferry_engine, ferry_engine_free>>;
using Plan = std::unique_ptr<ferry_plan, Deleter<ferry_plan, ferry_plan_free>>;
using Run = std::unique_ptr<ferry_run, Deleter<ferry_run, ferry_run_free>>;
using Event = std::unique_ptr<ferry_event, Deleter<ferry_event, ferry_event_free>>;
using Report = std::unique_ptr<ferry_report, Deleter<ferry_report, ferry_report_free>>;
using String = std::unique_ptr<char, Deleter<char, ferry_string_free>>;

// Calls `fn(args..., &out)` and wraps `out` in the smart pointer `Handle`.
template <typename Handle, typename Fn, typename... Args>
Handle make(const char *what, Fn fn, Args... args) {
    typename Handle::pointer out = nullptr;
    check(fn(args..., &out), what);
    return Handle(out);
}

// Calls `fn(handle, &out)` for a library-allocated string and returns it as std::string.
template <typename Fn, typename T>
std::string text(const char *what, Fn fn, const T *handle) {
    String s = make<String>(what, fn, handle);
    return std::string(s.get());
}

} // namespace ferry
