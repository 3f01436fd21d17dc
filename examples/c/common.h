/* Helpers shared by the C examples: error reporting and profiles built from two folder
 * paths. */
#ifndef FERRY_EXAMPLE_COMMON_H
#define FERRY_EXAMPLE_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ferrysync.h>

/* Prints what failed (code, meaning, and the detail of the last error on this thread). */
static void print_failure(const char *what, ferry_result rc) {
    char meaning[128], detail[1024];
    size_t n;
    if (ferry_result_message(rc, meaning, sizeof meaning, &n) != FERRY_RESULT_OK) meaning[0] = '\0';
    if (ferry_last_error_message(detail, sizeof detail, &n) != FERRY_RESULT_OK) detail[0] = '\0';
    fprintf(stderr, "%s failed: %u (%s): %s\n", what, (unsigned)rc, meaning, detail);
}

/* Appends `s` to `out` as a JSON string; returns the new length or 0 when it does not fit. */
static size_t json_string(char *out, size_t at, size_t cap, const char *s) {
    if (at + 1 >= cap) return 0;
    out[at++] = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (at + 7 >= cap) return 0;
        if (c == '"' || c == '\\') { out[at++] = '\\'; out[at++] = (char)c; }
        else if (c < 0x20) at += (size_t)sprintf(out + at, "\\u%04x", c);
        else out[at++] = (char)c;
    }
    if (at + 2 >= cap) return 0;
    out[at++] = '"';
    out[at] = '\0';
    return at;
}

/* Makes a one-folder profile of `operation` ("mirror", "synchronize", ...) from `source` to
 * `destination`; `options` are further members of the profile object, without braces
 * ("\"copy\": {}"; "" for none). */
static inline ferry_result folder_profile(const char *operation, const char *source,
                                          const char *destination, const char *options,
                                          ferry_profile **out) {
    char json[8192];
    size_t at = (size_t)snprintf(json, sizeof json,
        "{\"format\": 1, \"name\": \"example\", \"operation\": \"%s\", %s%s"
        "\"folders\": [{\"name\": \"main\", \"source\": ", operation, options,
        *options ? ", " : "");
    if (at >= sizeof json || !(at = json_string(json, at, sizeof json, source))) return FERRY_RESULT_INVALID_INPUT;
    at += (size_t)snprintf(json + at, sizeof json - at, ", \"destination\": ");
    if (at >= sizeof json || !(at = json_string(json, at, sizeof json, destination))) return FERRY_RESULT_INVALID_INPUT;
    if (at + 4 >= sizeof json) return FERRY_RESULT_INVALID_INPUT;
    strcpy(json + at, "}]}");
    return ferry_profile_from_json(json, out);
}

/* Makes a one-folder mirror profile from `source` to `destination`; `options` as for
 * folder_profile. */
static inline ferry_result mirror_profile_with(const char *source, const char *destination,
                                               const char *options, ferry_profile **out) {
    return folder_profile("mirror", source, destination, options, out);
}

/* Makes a one-folder mirror profile from `source` to `destination`; `copy_options` is the
 * JSON object of the profile's "copy" key ("{}" for the defaults). */
static inline ferry_result mirror_profile(const char *source, const char *destination,
                                          const char *copy_options, ferry_profile **out) {
    char options[1024];
    if ((size_t)snprintf(options, sizeof options, "\"copy\": %s", copy_options) >= sizeof options)
        return FERRY_RESULT_INVALID_INPUT;
    return mirror_profile_with(source, destination, options, out);
}

#endif
