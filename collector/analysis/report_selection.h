/*
 * report_selection.h — what a report shows of an analysis: the statements
 * ranked each way, cut to --top, and the keys ("s1", "p1") that tie the
 * parts of the document together. Both renderers use it, so the terminal
 * and the JSON document show the same statements.
 */
#pragma once

#include "analysis.h"

#include <cstdint>
#include <string>
#include <vector>

namespace qprof {

/* Statements shown per group, per error. */
constexpr size_t kTopPerGroup = 5;

struct ReportOptions {
    size_t top = 20;
    int64_t generated_unix_us = 0;
    std::string command_line_route, command_line_app, command_line_db,
        command_line_user;
};

struct Ranking {
    const char *name;  /* JSON name */
    const char *title; /* for the terminal */
    std::vector<uint32_t> statements;
};

/* The title of the ranking `name`, "" for none of them. */
const char *ranking_title(const std::string &name);

struct ReportSelection {
    std::vector<uint32_t> by_total; /* every statement, by total time */
    std::vector<uint32_t> rank;     /* statement -> 1-based rank */
    std::vector<Ranking> rankings;
    std::vector<uint32_t> statements; /* listed, in key order */
    std::vector<int> statement_key;   /* statement -> key number, or -1 */
    std::vector<uint32_t> plans;      /* listed */
    std::vector<int> plan_key;        /* plan -> key number, or -1 */
    /* per dimension of the profile: its groups by time, cut to --top */
    std::vector<std::vector<uint32_t>> groups;

    std::string skey(uint32_t statement) const {
        return "s" + std::to_string(statement_key[statement]);
    }
    std::string pkey(uint32_t plan) const {
        return "p" + std::to_string(plan_key[plan]);
    }
};

ReportSelection select_for_report(const Analysis &a,
                                  const ReportOptions &options);

/* The order both renderers list them in: the N+1 patterns by time, the
 * errors by count, most first. */
std::vector<const NPlusOne *> n_plus_one_by_time(const Profile &profile);
std::vector<const ErrorStats *> errors_by_count(const Profile &profile);

} // namespace qprof
