/* Mirrors SOURCE into DESTINATION with the profile option "copy.confirm-deletes": before it
 * deletes destination entries the source does not have, the run asks with a CONFIRM_DELETES
 * event, and this program answers ANSWER ("yes" or "no"; default "yes"). Answering "no"
 * keeps those entries; the copies still run. Usage: prompt SOURCE DESTINATION [yes|no]
 *
 * Conflict prompts of two-way synchronization are answered the same way, with
 * ferry_run_answer_conflict: see twoway.c. */
#include "common.h"

int main(int argc, char **argv) {
    ferry_profile *profile = NULL;
    ferry_engine *engine = NULL;
    ferry_run *run = NULL;
    ferry_report *report = NULL;
    char *json = NULL;
    ferry_result rc;
    int status = 2, asked = 0;

    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s SOURCE DESTINATION [yes|no]\n", argv[0]);
        return 2;
    }
    bool yes = argc < 4 || strcmp(argv[3], "no") != 0;
    ferry_run_options opts;
    ferry_run_options_init(&opts, sizeof opts);
    opts.prompt_timeout_ms = 10000; /* after 10 s unanswered, the run keeps the entries (the default) */

    if ((rc = mirror_profile(argv[1], argv[2], "{\"confirm-deletes\": true}", &profile)) != FERRY_RESULT_OK) {
        print_failure("profile", rc);
        goto out;
    }
    if ((rc = ferry_engine_new(&engine)) != FERRY_RESULT_OK) { print_failure("engine", rc); goto out; }
    if ((rc = ferry_engine_run_start(engine, profile, &opts, &run)) != FERRY_RESULT_OK) {
        print_failure("start", rc);
        goto out;
    }
    for (;;) {
        ferry_event *ev = NULL;
        rc = ferry_run_next_event(run, 1000, &ev);
        if (rc == FERRY_RESULT_TIMEOUT) continue;
        if (rc == FERRY_RESULT_RUN_FINISHED) break;
        if (rc != FERRY_RESULT_OK) { print_failure("next event", rc); break; }
        if (ferry_event_get_kind(ev) == FERRY_EVENT_KIND_CONFIRM_DELETES) {
            char question[1024];
            size_t n;
            uint64_t id = 0;
            if (ferry_event_message(ev, question, sizeof question, &n) != FERRY_RESULT_OK) question[0] = '\0';
            ferry_event_prompt_id(ev, &id);
            fprintf(stderr, "%s %s\n", question, yes ? "yes" : "no");
            if ((rc = ferry_run_answer(run, id, yes)) != FERRY_RESULT_OK) print_failure("answer", rc);
            asked++;
        }
        ferry_event_free(ev);
    }
    if ((rc = ferry_run_wait(run, &report)) != FERRY_RESULT_OK) { print_failure("run", rc); goto out; }
    if ((rc = ferry_report_to_json(report, &json)) != FERRY_RESULT_OK) { print_failure("report", rc); goto out; }
    printf("%s\n", json);
    fprintf(stderr, "%d prompt(s) answered\n", asked);
    status = ferry_report_exit_code(report);
out:
    ferry_string_free(json);
    ferry_report_free(report);
    ferry_run_free(run);
    ferry_engine_free(engine);
    ferry_profile_free(profile);
    return status;
}
