// One two-way synchronization of LEFT and RIGHT from C++, its conflict prompts answered with
// POLICY by an event callback on the engine thread (the callback registration path; the C
// example examples/c/twoway.c pulls events instead). Prints the plan, then the report as
// JSON, and "answered N conflict(s)" on stderr.
// Usage: twoway LEFT RIGHT STATE POLICY
#include "ferrysync.hpp"

#include <atomic>
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

// What the callback shares with main: the run (ferry_engine_run_start writes it before the
// first event, so the callback may read it) and the answer.
struct Answering {
    ferry_run *run = nullptr;
    ferry_conflict_policy policy = FERRY_CONFLICT_POLICY_KEEP_BOTH;
    std::atomic<int> answered{0};
};

// Called on an engine thread for every event; the event is lent for the call only.
extern "C" void on_event(void *userdata, const ferry_event *event) {
    auto *state = static_cast<Answering *>(userdata);
    ferry_conflict_info c{};
    if (ferry_event_get_kind(event) != FERRY_EVENT_KIND_CONFLICT_PROMPT ||
        ferry_event_conflict(event, &c) != FERRY_RESULT_OK)
        return;
    std::cerr << "conflict at " << c.path << " -> " << ferry_conflict_policy_name(state->policy)
              << "\n";
    if (ferry_run_answer_conflict(state->run, c.prompt_id, state->policy) ==
        FERRY_RESULT_OK)
        state->answered++;
}

int sync(const std::string &left, const std::string &right, const std::string &state_db,
         const char *policy_name) {
    Answering state;
    ferry::check(ferry_conflict_policy_from_name(policy_name, &state.policy), "policy");
    std::string json = "{\"format\": 1, \"name\": \"cpp-twoway\", \"operation\": \"synchronize\", "
                       "\"sync\": {\"conflict\": \"prompt\", \"state\": " + quoted(state_db) +
                       "}, \"folders\": [{\"name\": \"pair\", \"source\": " + quoted(left) +
                       ", \"destination\": " + quoted(right) + "}]}";
    auto profile = ferry::make<ferry::Profile>("profile", ferry_profile_from_json, json.c_str());
    auto engine = ferry::make<ferry::Engine>("engine", ferry_engine_new);
    const ferry_engine *e = engine.get();
    const ferry_profile *p = profile.get();

    auto plan = ferry::make<ferry::Plan>("plan", ferry_engine_plan, e, p);
    for (std::size_t i = 0; i < ferry_plan_action_count(plan.get()); i++) {
        ferry_action_info a{};
        ferry::check(ferry_plan_action_get(plan.get(), i, &a), "action");
        std::cerr << "plan: " << (a.to == FERRY_SIDE_SOURCE ? "<- " : "-> ") << a.path
                  << (a.kind == FERRY_ACTION_KIND_CONFLICT ? " (conflict)" : "") << "\n";
    }

    ferry_run_options opts{};
    ferry::check(ferry_run_options_init(&opts, sizeof opts), "options");
    opts.event_callback = on_event;
    opts.userdata = &state;
    ferry::check(ferry_engine_run_start(e, p, &opts, &state.run), "start");
    ferry::Run run(state.run);
    auto report = ferry::make<ferry::Report>("run", ferry_run_wait, run.get());
    std::cout << ferry::text("report", ferry_report_to_json, report.get()) << "\n";
    std::cerr << "answered " << state.answered.load() << " conflict(s)\n";
    return ferry_report_exit_code(report.get());
}

} // namespace

int main(int argc, char **argv) {
    if (argc != 5) {
        std::cerr << "usage: " << argv[0] << " LEFT RIGHT STATE POLICY\n";
        return 2;
    }
    try {
        return sync(argv[1], argv[2], argv[3], argv[4]);
    } catch (const ferry::Error &e) {
        std::cerr << "error " << static_cast<unsigned>(e.code()) << ": " << e.what() << "\n";
        return 2;
    }
}
