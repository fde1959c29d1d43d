/*
 * one_line.h — a statement's text on one line of a report or an insight.
 */
#pragma once

#include <cstddef>
#include <string>

namespace qprof {

/* `text` with its runs of white space made one space, cut to `width`
 * columns with "..." when longer; never splits a UTF-8 character. */
std::string one_line(const std::string &text, size_t width);

} // namespace qprof
