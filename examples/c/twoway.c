/* Two-way synchronization that answers conflict prompts, checked on disk.
 * Usage: twoway DIR [POLICY]
 *
 * Makes DIR/left and DIR/right (DIR must not hold them yet) with the state database in
 * DIR/state.sqlite, then:
 *   1. a first run: a union of both sides;
 *   2. edits: a.txt changed on the left, b.txt deleted on the right, and notes.txt changed
 *      on both sides (the right's edit is newer);
 *   3. a preview of the second run, with the conflict to be asked about;
 *   4. the second run, answering the conflict prompt with POLICY ("keep-both" by default;
 *      "newer", "older", "larger", "smaller", "source", "destination" or "skip");
 *   5. checks that both edits went across and that notes.txt ended as POLICY says, and that a
 *      third plan has nothing left to do.
 * Prints "twoway: ok" and exits 0 when every check holds. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "common.h"

static char dir_left[4096], dir_right[4096], state_db[4096];
static int failures = 0;

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "check failed (%s:%d): ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                                   \
            fprintf(stderr, "\n");                                          \
            failures++;                                                     \
        }                                                                   \
    } while (0)

/* Writes `text` to `side`/`name`; a non-zero `mtime` sets its modification time. */
static int put(const char *side, const char *name, const char *text, time_t mtime) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", side, name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) == EOF || fclose(f) != 0) { perror(path); return -1; }
    if (mtime) {
        struct timespec times[2] = {{mtime, 0}, {mtime, 0}};
        if (utimensat(AT_FDCWD, path, times, 0) != 0) { perror(path); return -1; }
    }
    return 0;
}

/* Whether `side`/`name` holds exactly `text` (NULL: does not exist). */
static int holds(const char *side, const char *name, const char *text) {
    char path[4200], got[256];
    snprintf(path, sizeof path, "%s/%s", side, name);
    FILE *f = fopen(path, "r");
    if (!f) return text == NULL;
    size_t n = fread(got, 1, sizeof got - 1, f);
    fclose(f);
    got[n] = '\0';
    return text != NULL && strcmp(got, text) == 0;
}

/* The name of the "notes (conflict ...).txt" file in `side` into `out`; 0 when there is none,
 * -1 when there are several. */
static int conflict_copy(const char *side, char *out, size_t len) {
    DIR *d = opendir(side);
    struct dirent *e;
    int found = 0;
    if (!d) return 0;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "notes (conflict ", 16) == 0) {
            snprintf(out, len, "%s", e->d_name);
            found = found ? -1 : 1;
        }
    }
    closedir(d);
    return found;
}

/* The two-way profile over DIR/left and DIR/right, asking about every conflict. */
static ferry_result two_way_profile(ferry_profile **out) {
    char options[8192];
    size_t at = (size_t)snprintf(options, sizeof options, "\"sync\": {\"conflict\": \"prompt\", \"state\": ");
    if (!(at = json_string(options, at, sizeof options, state_db)) || at + 2 >= sizeof options)
        return FERRY_RESULT_INVALID_INPUT;
    strcpy(options + at, "}");
    return folder_profile("synchronize", dir_left, dir_right, options, out);
}

/* Answers every conflict prompt of `run` with `policy`; returns how many it answered. */
static int answer_conflicts(ferry_run *run, ferry_conflict_policy policy) {
    int answered = 0;
    ferry_event *ev = NULL;
    ferry_result rc;
    while ((rc = ferry_run_next_event(run, 1000, &ev)) != FERRY_RESULT_RUN_FINISHED) {
        if (rc == FERRY_RESULT_TIMEOUT) continue;
        if (rc != FERRY_RESULT_OK) break;
        ferry_conflict_info c;
        if (ferry_event_get_kind(ev) == FERRY_EVENT_KIND_CONFLICT_PROMPT &&
            ferry_event_conflict(ev, &c) == FERRY_RESULT_OK) {
            printf("conflict at %s: source %llu bytes, destination %llu bytes -> %s\n", c.path,
                   (unsigned long long)c.source.size, (unsigned long long)c.destination.size,
                   ferry_conflict_policy_name(policy));
            if (ferry_run_answer_conflict(run, c.prompt_id, policy) == FERRY_RESULT_OK) answered++;
        }
        ferry_event_free(ev);
    }
    return answered;
}

/* Runs the profile to the end, answering conflicts with `policy`; the run's exit code, or -1. */
static int sync_once(ferry_engine *engine, ferry_profile *profile, ferry_conflict_policy policy,
                     int *answered) {
    ferry_run *run = NULL;
    ferry_report *report = NULL;
    ferry_result rc;
    int code = -1;
    if ((rc = ferry_engine_run_start(engine, profile, NULL, &run)) != FERRY_RESULT_OK) {
        print_failure("start", rc);
        return -1;
    }
    *answered = answer_conflicts(run, policy);
    if ((rc = ferry_run_wait(run, &report)) == FERRY_RESULT_OK) code = ferry_report_exit_code(report);
    else print_failure("run", rc);
    ferry_report_free(report);
    ferry_run_free(run);
    return code;
}

static const char *kind_name(ferry_action_kind k) {
    switch (k) {
    case FERRY_ACTION_KIND_CREATE_DIR: return "create-dir";
    case FERRY_ACTION_KIND_COPY: return "copy";
    case FERRY_ACTION_KIND_UPDATE_META: return "update-meta";
    case FERRY_ACTION_KIND_DELETE: return "delete";
    case FERRY_ACTION_KIND_DELETE_SOURCE: return "delete-source";
    case FERRY_ACTION_KIND_CONFLICT: return "conflict";
    case FERRY_ACTION_KIND_RENAME: return "rename";
    case FERRY_ACTION_KIND_RECORD: return "record";
    default: return "?";
    }
}

/* Prints the plan of the next run; returns its summary in `*out` (0 on success). */
static int preview(ferry_engine *engine, ferry_profile *profile, ferry_summary *out,
                   int *prompts) {
    ferry_plan *plan = NULL;
    ferry_result rc = ferry_engine_plan(engine, profile, &plan);
    if (rc != FERRY_RESULT_OK) { print_failure("plan", rc); return -1; }
    *prompts = 0;
    for (size_t i = 0; i < ferry_plan_action_count(plan); i++) {
        ferry_action_info a;
        if (ferry_plan_action_get(plan, i, &a) != FERRY_RESULT_OK) continue;
        printf("plan: %s %s %s", a.to == FERRY_SIDE_SOURCE ? "<-" : "->", kind_name(a.kind), a.path);
        if (a.kind == FERRY_ACTION_KIND_CONFLICT && a.resolution == FERRY_RESOLUTION_PROMPT) {
            printf(" (will ask: source %llu bytes, destination %llu bytes)",
                   (unsigned long long)a.source.size, (unsigned long long)a.destination.size);
            (*prompts)++;
        }
        printf("\n");
    }
    rc = ferry_plan_summary(plan, out);
    ferry_plan_free(plan);
    return rc == FERRY_RESULT_OK ? 0 : -1;
}

int main(int argc, char **argv) {
    ferry_profile *profile = NULL;
    ferry_engine *engine = NULL;
    ferry_conflict_policy policy = FERRY_CONFLICT_POLICY_KEEP_BOTH;
    ferry_summary summary;
    ferry_result rc;
    int answered = 0, prompts = 0, status = 2;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s DIR [keep-both|newer|older|larger|smaller|source|destination|skip]\n", argv[0]);
        return 2;
    }
    if (argc == 3 && (rc = ferry_conflict_policy_from_name(argv[2], &policy)) != FERRY_RESULT_OK) {
        print_failure("policy", rc);
        return 2;
    }
    snprintf(dir_left, sizeof dir_left, "%s/left", argv[1]);
    snprintf(dir_right, sizeof dir_right, "%s/right", argv[1]);
    snprintf(state_db, sizeof state_db, "%s/state.sqlite", argv[1]);
    if (mkdir(dir_left, 0777) != 0 || mkdir(dir_right, 0777) != 0) { perror(argv[1]); return 2; }

    /* 1. A first run: the union of both sides. */
    if (put(dir_left, "notes.txt", "v1", 0) || put(dir_left, "a.txt", "a", 0) ||
        put(dir_right, "b.txt", "b", 0))
        return 2;
    if ((rc = two_way_profile(&profile)) != FERRY_RESULT_OK) { print_failure("profile", rc); goto out; }
    if ((rc = ferry_engine_new(&engine)) != FERRY_RESULT_OK) { print_failure("engine", rc); goto out; }
    CHECK(sync_once(engine, profile, policy, &answered) == 0, "the first run failed");
    CHECK(answered == 0, "the first run asked %d questions", answered);
    CHECK(holds(dir_right, "notes.txt", "v1") && holds(dir_right, "a.txt", "a") &&
          holds(dir_left, "b.txt", "b"), "the first run is not a union");

    /* 2. Edits on both sides, and the same file changed on both. */
    if (put(dir_left, "a.txt", "a changed", 0) || put(dir_left, "notes.txt", "left edit", 1700000000) ||
        put(dir_right, "notes.txt", "right edit, newer", 1700000100))
        goto out;
    {
        char b[4200];
        snprintf(b, sizeof b, "%s/b.txt", dir_right);
        if (remove(b) != 0) { perror(b); goto out; }
    }

    /* 3. The preview: one change each way and the conflict it will ask about. */
    CHECK(preview(engine, profile, &summary, &prompts) == 0, "no preview");
    CHECK(summary.conflicts == 1 && prompts == 1, "%llu conflicts, %d to ask",
          (unsigned long long)summary.conflicts, prompts);
    CHECK(summary.modified_files == 1 && summary.deletions == 1, "%llu modified, %llu deleted",
          (unsigned long long)summary.modified_files, (unsigned long long)summary.deletions);

    /* 4. The second run, answering the conflict. */
    CHECK(sync_once(engine, profile, policy, &answered) == 0, "the second run failed");
    CHECK(answered == 1, "%d conflict prompts answered, expected 1", answered);

    /* 5. What is on disk. */
    CHECK(holds(dir_right, "a.txt", "a changed"), "the left's edit did not reach the right");
    CHECK(holds(dir_left, "b.txt", NULL), "the right's deletion did not reach the left");
    {
        const char *left = "left edit", *right = "right edit, newer", *want_left, *want_right;
        char copy_l[256] = "", copy_r[256] = "";
        int copies_l = conflict_copy(dir_left, copy_l, sizeof copy_l);
        int copies_r = conflict_copy(dir_right, copy_r, sizeof copy_r);
        switch (policy) {
        case FERRY_CONFLICT_POLICY_NEWER: case FERRY_CONFLICT_POLICY_LARGER:
        case FERRY_CONFLICT_POLICY_DESTINATION: case FERRY_CONFLICT_POLICY_KEEP_BOTH:
            want_left = want_right = right; break;
        case FERRY_CONFLICT_POLICY_SKIP: want_left = left; want_right = right; break;
        default: want_left = want_right = left; break;
        }
        CHECK(holds(dir_left, "notes.txt", want_left), "left notes.txt is not \"%s\"", want_left);
        CHECK(holds(dir_right, "notes.txt", want_right), "right notes.txt is not \"%s\"", want_right);
        if (policy == FERRY_CONFLICT_POLICY_KEEP_BOTH) {
            CHECK(copies_l == 1 && copies_r == 1 && strcmp(copy_l, copy_r) == 0,
                  "keep-both: no single conflict copy on both sides (\"%s\", \"%s\")", copy_l, copy_r);
            CHECK(holds(dir_left, copy_l, left) && holds(dir_right, copy_r, left),
                  "keep-both: the conflict copy does not hold the older version");
            printf("kept both: notes.txt and \"%s\"\n", copy_l);
        } else {
            CHECK(copies_l == 0 && copies_r == 0, "a conflict copy appeared: \"%s\"", copy_l);
        }
    }
    CHECK(preview(engine, profile, &summary, &prompts) == 0, "no third preview");
    CHECK(summary.conflicts == (policy == FERRY_CONFLICT_POLICY_SKIP ? 1u : 0u) &&
          summary.new_files + summary.modified_files + summary.deletions == 0,
          "the sides have not converged");

    status = failures ? 1 : 0;
    printf("twoway: %s\n", failures ? "FAILED" : "ok");
out:
    ferry_engine_free(engine);
    ferry_profile_free(profile);
    return status;
}
