/*
 * html_assets.h — the page's sources, analysis/html/report.{html,css,js},
 * embedded at build time (the Makefile generates html_assets.cpp from them
 * with analysis/html/embed_assets.sh).
 */
#pragma once

#include <string_view>

namespace qprof::html_assets {

extern const std::string_view report_html;
extern const std::string_view report_css;
extern const std::string_view report_js;

} // namespace qprof::html_assets
