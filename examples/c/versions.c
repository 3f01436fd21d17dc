/* Keeps earlier versions of replaced files and restores one. Usage: versions SOURCE
 * DESTINATION FILE, FILE relative to SOURCE (an existing file).
 *
 * Mirrors SOURCE into DESTINATION with "versions": {"keep": 2, "folder": ".versions"}, appends
 * a line to SOURCE/FILE, mirrors again (the replaced DESTINATION/FILE goes into
 * DESTINATION/.versions), prints the versions of FILE as JSON, then restores the newest, so
 * DESTINATION/FILE holds what it held after the first run (the file it replaces is kept as a
 * version in turn), and prints the versions again. Exit status: 0 ok, 1 a run had errors,
 * 2 failure. */
#include "common.h"

/* Runs the profile to the end; 0 when the run went well. */
static int run(const ferry_engine *engine, const ferry_profile *profile) {
    ferry_report *report = NULL;
    ferry_result rc = ferry_engine_run(engine, profile, NULL, &report);
    if (rc != FERRY_RESULT_OK) { print_failure("run", rc); return 2; }
    int code = ferry_report_exit_code(report);
    ferry_report_free(report);
    return code;
}

/* Prints the versions of `file` as one line of JSON. */
static int print_versions(const ferry_profile *profile, const char *file) {
    char *json = NULL;
    ferry_result rc = ferry_profile_versions_list_json(profile, NULL, file, &json);
    if (rc != FERRY_RESULT_OK) { print_failure("list versions", rc); return 2; }
    printf("%s\n", json);
    ferry_string_free(json);
    return 0;
}

int main(int argc, char **argv) {
    ferry_profile *profile = NULL;
    ferry_engine *engine = NULL;
    ferry_result rc;
    int status = 2;
    char path[4096];
    FILE *f;

    if (argc != 4) {
        fprintf(stderr, "usage: %s SOURCE DESTINATION FILE\n", argv[0]);
        return 2;
    }
    if ((rc = mirror_profile_with(argv[1], argv[2], "\"versions\": {\"keep\": 2, \"folder\": \".versions\"}",
                                  &profile)) != FERRY_RESULT_OK) {
        print_failure("profile", rc);
        goto out;
    }
    if ((rc = ferry_engine_new(&engine)) != FERRY_RESULT_OK) { print_failure("engine", rc); goto out; }
    if ((status = run(engine, profile)) != 0) goto out;

    status = 2;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", argv[1], argv[3]) >= sizeof path) goto out;
    if (!(f = fopen(path, "a"))) { perror(path); goto out; }
    fputs("changed\n", f);
    if (fclose(f) != 0) { perror(path); goto out; }
    if ((status = run(engine, profile)) != 0) goto out;

    /* The versions folder is where the profile says (DESTINATION/.versions), so these calls
     * take the profile; 0 asks for the newest version, a "stored-ns" value from the list
     * for that one. */
    if ((status = print_versions(profile, argv[3])) != 0) goto out;
    if ((rc = ferry_profile_versions_restore(profile, NULL, argv[3], 0)) != FERRY_RESULT_OK) {
        print_failure("restore", rc);
        status = 2;
        goto out;
    }
    status = print_versions(profile, argv[3]);
out:
    ferry_engine_free(engine);
    ferry_profile_free(profile);
    return status;
}
