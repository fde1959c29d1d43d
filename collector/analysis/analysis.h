/*
 * analysis.h — a profile read for answers: the plans parsed, the insights
 * found (each ranked by the database time it explains, with its evidence
 * and a next step), and the lookups the renderers share.
 */
#pragma once

#include "capture_set.h"
#include "plan_tree.h"
#include "profile.h"

#include <string>
#include <utility>
#include <vector>

namespace qprof {

/* A fact behind an insight: a number, or a text when `text` is set. */
struct InsightFact {
    std::string name;
    double number = 0;
    bool is_text = false;
    std::string text;
};

struct Insight {
    std::string kind; /* missing_index, estimate_error, spill, ... */
    std::string title;
    double db_time_ns = 0; /* the database time it explains */
    int statement = -1;    /* index in Profile::statements */
    std::string route;     /* empty when untagged */
    std::string table;     /* schema.name, or empty */
    std::vector<std::string> columns;
    std::vector<uint32_t> plans; /* indexes in Profile::plans */
    /* other statements it names (the CPU's burners, a lock's holders) */
    std::vector<uint32_t> statements;
    std::vector<std::string> evidence;
    std::vector<InsightFact> facts;
    std::string action;
    std::string sql; /* empty when there is none */

    void fact(const std::string &name, double value) {
        facts.push_back({name, value, false, ""});
    }
    void fact(const std::string &name, const std::string &value) {
        facts.push_back({name, 0, true, value});
    }
};

/* A statement whose plans changed: which is slower and what it cost. */
struct PlanChange {
    uint32_t statement;
    std::vector<uint32_t> plans; /* in the order they first appeared */
    uint32_t slower, faster;
    double extra_ns;
    int64_t changed_unix_us; /* when the last plan first appeared */
};

/* One of a statement's plans as a plan change weighs it. */
struct PlanOutcome {
    int64_t first_unix_us; /* its first execution's start */
    double calls;          /* weighted */
    double mean_ns;        /* database time per call */
};

/* A statement's plans compared: `order` the indexes of `plans` by first
 * appearance, the slower and faster by mean time (the first of equals),
 * and the database time the slower cost over the faster's mean. */
struct PlanComparison {
    std::vector<uint32_t> order;
    uint32_t slower = 0, faster = 0;
    double extra_ns = 0;
    int64_t changed_unix_us = 0; /* when the last plan first appeared */
};
PlanComparison compare_plans(const std::vector<PlanOutcome> &plans);

struct Analysis {
    const CaptureSet &set;
    const Profile &profile;
    /* The stored plan of `plan` parsed, with its actuals matched: parsed
     * when first asked for (parsing every plan of a large capture would
     * cost more than reading it). */
    const PlanTree &tree(uint32_t plan) const;
    std::vector<Insight> insights;
    std::vector<PlanChange> plan_changes;

    Analysis(const CaptureSet &s, const Profile &p) : set(s), profile(p) {}

  private:
    mutable std::vector<PlanTree> trees_;
    mutable std::vector<bool> parsed_;

  public:
    /* The statement's text ("" when the capture has none). */
    const std::string &text_of(uint32_t statement) const;
    /* The route (or other group of `d`) with most of its time, or "". */
    std::string top_group_of(uint32_t statement, Dimension d) const;
    /* The server's setting, or "". */
    std::string setting(uint32_t server, const std::string &name) const;
    /* The catalog's relation "schema.name" of the statement's database. */
    const capture::v1::Relation *relation(uint32_t statement,
                                          const std::string &name) const;
    double share(double ns) const;
    double sample_rate_scale() const;
};

/* Parses the plans and finds the insights and plan changes. */
void analyze(Analysis &analysis);

/* Below this share of the database time a finding is noise. */
constexpr double kMinInsightShare = 0.002;

/* "12.3 MB" */
std::string human_bytes(double bytes);
/* "1.23 s", "45.6 ms", "789 us" */
std::string human_ms(double ms);
/* "1,234,567" */
std::string human_count(double n);
/* "12%", "1.5%" (of a share 0.12, 0.015) */
std::string human_percent(double share);
/* `value` as the printf format `format` (of one double) prints it. */
std::string format_number(const char *format, double value);

} // namespace qprof
