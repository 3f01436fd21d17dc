// Runs a profile and prints the report, with RAII handles and exceptions.
// Usage: quickstart PROFILE.json
#include <ferrysync.h>

#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

template <typename T, void (*Free)(T *)> struct Deleter {
    void operator()(T *p) const noexcept { Free(p); }
};
template <typename T, void (*Free)(T *)> using Handle = std::unique_ptr<T, Deleter<T, Free>>;

static void check(ferry_result rc) {
    if (rc == FERRY_RESULT_OK) return;
    char msg[1024];
    size_t n;
    if (ferry_last_error_message(msg, sizeof msg, &n) != FERRY_RESULT_OK) msg[0] = '\0';
    throw std::runtime_error("ferrysync error " + std::to_string(rc) + ": " + msg);
}

int main(int argc, char **argv) try {
    if (argc != 2) throw std::runtime_error("usage: quickstart PROFILE.json");
    ferry_profile *p = nullptr;
    check(ferry_profile_load(argv[1], &p));
    Handle<ferry_profile, ferry_profile_free> profile(p);
    ferry_engine *e = nullptr;
    check(ferry_engine_new(&e));
    Handle<ferry_engine, ferry_engine_free> engine(e);
    ferry_report *r = nullptr;
    check(ferry_engine_run(engine.get(), profile.get(), nullptr, &r));
    Handle<ferry_report, ferry_report_free> report(r);
    char *json = nullptr;
    check(ferry_report_to_json(report.get(), &json));
    Handle<char, ferry_string_free> text(json);
    std::cout << text.get() << "\n";
    return ferry_report_exit_code(report.get());
} catch (const std::exception &err) {
    std::cerr << err.what() << "\n";
    return 2;
}
