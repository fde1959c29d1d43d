/*
 * html_report.h — the self-contained HTML page of `qprof report --html`.
 *
 * The page is the report's JSON (docs/report-json.md) embedded in one HTML
 * file with the project's own CSS and JavaScript (analysis/html/), which
 * draw the summary, the insights, the tables and the charts in the browser.
 * It loads nothing from the network.
 */
#pragma once

#include <string>

namespace qprof {

/* The page for `report_json`, a report as `qprof report --json` prints it
 * (valid JSON, UTF-8). */
std::string render_html(const std::string &report_json);

/* `json` made safe to embed in a <script> element: '<', '>' and '&' become
 * \u escapes (JSON has them only inside strings, where the escape means the
 * same character), so no "</script>" or "<!--" can end or confuse the
 * element; U+2028 and U+2029 likewise, as JavaScript parsers older than
 * ES2019 take them for line ends. */
std::string json_for_script_element(const std::string &json);

} // namespace qprof
