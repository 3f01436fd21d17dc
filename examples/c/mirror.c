/* Mirrors SOURCE into DESTINATION with a one-line progress display, Ctrl-C to cancel, and
 * prints the report as JSON. Usage: mirror SOURCE DESTINATION
 *
 * Events are pulled: the loop waits up to 100 ms for each, so the SIGINT flag is checked
 * several times a second. Exit status: 0 ok, 1 finished with errors, 130 cancelled,
 * 2 could not run. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>

#include "common.h"

static volatile sig_atomic_t interrupted = 0;

static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1; /* only a flag: ferry_run_cancel is called from the event loop */
}

int main(int argc, char **argv) {
    ferry_profile *profile = NULL;
    ferry_engine *engine = NULL;
    ferry_run *run = NULL;
    ferry_report *report = NULL;
    char *json = NULL;
    ferry_result rc;
    int status = 2, cancelled = 0, shown = 0;

    if (argc != 3) {
        fprintf(stderr, "usage: %s SOURCE DESTINATION\n", argv[0]);
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);

    if ((rc = mirror_profile(argv[1], argv[2], "{}", &profile)) != FERRY_RESULT_OK) {
        print_failure("profile", rc);
        goto out;
    }
    if ((rc = ferry_engine_new(&engine)) != FERRY_RESULT_OK) { print_failure("engine", rc); goto out; }
    if ((rc = ferry_engine_run_start(engine, profile, NULL, &run)) != FERRY_RESULT_OK) {
        print_failure("start", rc);
        goto out;
    }
    for (;;) {
        ferry_event *ev = NULL;
        if (interrupted && !cancelled) {
            ferry_run_cancel(run);
            cancelled = 1;
        }
        rc = ferry_run_next_event(run, 100, &ev);
        if (rc == FERRY_RESULT_TIMEOUT) continue;
        if (rc == FERRY_RESULT_RUN_FINISHED) break;
        if (rc != FERRY_RESULT_OK) { print_failure("next event", rc); break; }
        ferry_progress p;
        char line[1024];
        size_t n;
        switch (ferry_event_get_kind(ev)) {
        case FERRY_EVENT_KIND_PROGRESS:
            if (ferry_event_progress(ev, &p) == FERRY_RESULT_OK) {
                fprintf(stderr, "\r%llu/%llu items, %llu/%llu bytes   ",
                        (unsigned long long)p.items_done, (unsigned long long)p.items_total,
                        (unsigned long long)p.bytes_done, (unsigned long long)p.bytes_total);
                shown = 1;
            }
            break;
        case FERRY_EVENT_KIND_WARNING:
        case FERRY_EVENT_KIND_ERROR:
            if (ferry_event_message(ev, line, sizeof line, &n) == FERRY_RESULT_OK)
                fprintf(stderr, "%s%s\n", shown ? "\n" : "", line);
            shown = 0;
            break;
        default:
            break;
        }
        ferry_event_free(ev);
    }
    if (shown) fputc('\n', stderr);
    if ((rc = ferry_run_wait(run, &report)) != FERRY_RESULT_OK) { print_failure("run", rc); goto out; }
    if ((rc = ferry_report_to_json(report, &json)) != FERRY_RESULT_OK) { print_failure("report", rc); goto out; }
    printf("%s\n", json);
    status = ferry_report_exit_code(report);
out:
    ferry_string_free(json);
    ferry_report_free(report);
    ferry_run_free(run);
    ferry_engine_free(engine);
    ferry_profile_free(profile);
    return status;
}
