/*
 * report_text.h — the report for a terminal, at most 100 columns wide. Its
 * first screen answers "where did the database time go, and what should I
 * do first": the summary, the insights, the top statements.
 */
#pragma once

#include "analysis.h"
#include "report_lines.h"
#include "report_selection.h"

#include <string>

namespace qprof {

std::string render_report_text(const Analysis &analysis,
                               const ReportSelection &selection,
                               const ReportOptions &options);

} // namespace qprof
