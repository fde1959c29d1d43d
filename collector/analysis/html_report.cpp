/*
 * html_report.cpp — fills the page's template (analysis/html/report.html)
 * with its style sheet, its script and the report's JSON.
 */
#include "html_report.h"

#include "html_assets.h"

#include <stdexcept>
#include <string_view>

namespace qprof {

namespace {

/* The template's placeholders, each replaced once. */
constexpr std::string_view css_marker = "/*@QPROF_CSS@*/";
constexpr std::string_view js_marker = "/*@QPROF_JS@*/";
constexpr std::string_view data_marker = "@QPROF_DATA@";

/* Appends `page` with `marker` replaced by `value`, from `from` on; returns
 * where the text after the marker starts. */
std::size_t append_until_marker(std::string &out, std::string_view page,
                                std::size_t from, std::string_view marker,
                                std::string_view value) {
    std::size_t at = page.find(marker, from);
    if (at == std::string_view::npos)
        throw std::logic_error("report.html lacks " + std::string(marker));
    out.append(page.substr(from, at - from));
    out.append(value);
    return at + marker.size();
}

} // namespace

std::string json_for_script_element(const std::string &json) {
    std::string out;
    out.reserve(json.size() + json.size() / 64);
    for (std::size_t i = 0; i < json.size(); i++) {
        char c = json[i];
        if (c == '<') {
            out += "\\u003c";
        } else if (c == '>') {
            out += "\\u003e";
        } else if (c == '&') {
            out += "\\u0026";
        } else if (c == '\xe2' && i + 2 < json.size() &&
                   json[i + 1] == '\x80' &&
                   (json[i + 2] == '\xa8' || json[i + 2] == '\xa9')) {
            out += json[i + 2] == '\xa8' ? "\\u2028" : "\\u2029";
            i += 2;
        } else {
            out += c;
        }
    }
    return out;
}

std::string render_html(const std::string &report_json) {
    // The markers come in this order in the template: the style sheet in
    // <head>, then the data, then the script at the end of <body>.
    std::string_view page = html_assets::report_html;
    std::string data = json_for_script_element(report_json);
    std::string out;
    out.reserve(page.size() + html_assets::report_css.size() +
                html_assets::report_js.size() + data.size());
    std::size_t from = 0;
    from = append_until_marker(out, page, from, css_marker,
                               html_assets::report_css);
    from = append_until_marker(out, page, from, data_marker, data);
    from =
        append_until_marker(out, page, from, js_marker, html_assets::report_js);
    out.append(page.substr(from));
    return out;
}

} // namespace qprof
