// Mirrors SOURCE into DESTINATION from C++: previews the plan, runs it while showing
// progress, and prints the report as JSON. Usage: mirror SOURCE DESTINATION
#include "ferrysync.hpp"

#include <cstdio>
#include <iostream>

namespace {

// A JSON string literal for `s`.
std::string quoted(const std::string &s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') { out += '\\'; out += static_cast<char>(c); }
        else if (c < 0x20) { char b[8]; std::snprintf(b, sizeof b, "\\u%04x", c); out += b; }
        else out += static_cast<char>(c);
    }
    return out + "\"";
}

int mirror(const std::string &source, const std::string &destination) {
    std::string json = "{\"format\": 1, \"name\": \"cpp-mirror\", \"operation\": \"mirror\", "
                       "\"folders\": [{\"name\": \"main\", \"source\": " + quoted(source) +
                       ", \"destination\": " + quoted(destination) + "}]}";
    auto profile = ferry::make<ferry::Profile>("profile", ferry_profile_from_json, json.c_str());
    auto engine = ferry::make<ferry::Engine>("engine", ferry_engine_new);

    auto plan = ferry::make<ferry::Plan>("plan", ferry_engine_plan,
                                         static_cast<const ferry_engine *>(engine.get()),
                                         static_cast<const ferry_profile *>(profile.get()));
    ferry_summary summary{};
    ferry::check(ferry_plan_summary(plan.get(), &summary), "plan summary");
    std::cerr << "plan: " << ferry_plan_action_count(plan.get()) << " actions, "
              << summary.new_files << " new files, " << summary.deletions << " to delete\n";

    auto run = ferry::make<ferry::Run>("start", ferry_engine_run_start,
                                       static_cast<const ferry_engine *>(engine.get()),
                                       static_cast<const ferry_profile *>(profile.get()),
                                       static_cast<const ferry_run_options *>(nullptr));
    for (;;) {
        ferry_event *raw = nullptr;
        ferry_result rc = ferry_run_next_event(run.get(), 100, &raw);
        if (rc == FERRY_RESULT_TIMEOUT) continue;
        if (rc == FERRY_RESULT_RUN_FINISHED) break;
        ferry::check(rc, "next event");
        ferry::Event ev(raw);
        ferry_progress p{};
        if (ferry_event_get_kind(ev.get()) == FERRY_EVENT_KIND_PROGRESS &&
            ferry_event_progress(ev.get(), &p) == FERRY_RESULT_OK)
            std::cerr << "\r" << p.items_done << "/" << p.items_total << " items" << std::flush;
    }
    std::cerr << "\n";
    auto report = ferry::make<ferry::Report>("run", ferry_run_wait, run.get());
    std::cout << ferry::text("report", ferry_report_to_json, report.get()) << "\n";
    return ferry_report_exit_code(report.get());
}

} // namespace

int main(int argc, char **argv) {
    if (argc != 3) {
        std::cerr << "usage: " << argv[0] << " SOURCE DESTINATION\n";
        return 2;
    }
    try {
        return mirror(argv[1], argv[2]);
    } catch (const ferry::Error &e) {
        std::cerr << "error " << static_cast<unsigned>(e.code()) << ": " << e.what() << "\n";
        return 2;
    }
}
