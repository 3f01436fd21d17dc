/* Mirror one folder into another and print the report: the shortest use of ferrysync.h.
 * Usage: quickstart PROFILE.json */
#include <stdio.h>
#include <ferrysync.h>

static int fail(ferry_result rc) {
    char msg[512];
    size_t n;
    if (ferry_last_error_message(msg, sizeof msg, &n) != FERRY_RESULT_OK) msg[0] = '\0';
    fprintf(stderr, "error %u: %s\n", (unsigned)rc, msg);
    return 2;
}

int main(int argc, char **argv) {
    ferry_profile *profile = NULL;
    ferry_engine *engine = NULL;
    ferry_report *report = NULL;
    char *json = NULL;
    ferry_result rc;
    if (argc != 2) { fprintf(stderr, "usage: %s PROFILE.json\n", argv[0]); return 2; }
    if ((rc = ferry_profile_load(argv[1], &profile)) != FERRY_RESULT_OK) return fail(rc);
    if ((rc = ferry_engine_new(&engine)) == FERRY_RESULT_OK &&
        (rc = ferry_engine_run(engine, profile, NULL, &report)) == FERRY_RESULT_OK &&
        (rc = ferry_report_to_json(report, &json)) == FERRY_RESULT_OK)
        printf("%s\n", json);
    int code = rc == FERRY_RESULT_OK ? ferry_report_exit_code(report) : fail(rc);
    ferry_string_free(json);
    ferry_report_free(report);
    ferry_engine_free(engine);
    ferry_profile_free(profile);
    return code;
}
