/*
 * json_writer.h — writes a JSON document into a string, placing the commas
 * itself: begin/end an object or array, then keys and values.
 */
#pragma once

#include "json_text.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace qprof {

class JsonWriter {
  public:
    JsonWriter &begin_object() { return open('{'); }
    JsonWriter &end_object() { return close('}'); }
    JsonWriter &begin_array() { return open('['); }
    JsonWriter &end_array() { return close(']'); }

    JsonWriter &key(const char *name) {
        comma();
        append_json_string(out_, name);
        out_ += ':';
        after_key_ = true;
        return *this;
    }
    JsonWriter &value(const std::string &text) {
        comma();
        append_json_string(out_, text);
        return *this;
    }
    JsonWriter &value(const char *text) { return value(std::string(text)); }
    JsonWriter &value(bool b) {
        comma();
        out_ += b ? "true" : "false";
        return *this;
    }
    JsonWriter &value(int64_t n) {
        comma();
        out_ += std::to_string(n);
        return *this;
    }
    JsonWriter &value(uint64_t n) {
        comma();
        out_ += std::to_string(n);
        return *this;
    }
    JsonWriter &value(int n) { return value(static_cast<int64_t>(n)); }
    JsonWriter &value(uint32_t n) { return value(static_cast<uint64_t>(n)); }
    /* numbers keep 6 significant digits past the integer part */
    JsonWriter &value(double d) {
        comma();
        if (!std::isfinite(d)) {
            out_ += "null";
            return *this;
        }
        char buf[40];
        if (d == std::floor(d) && std::fabs(d) < 9e15)
            snprintf(buf, sizeof buf, "%.0f", d);
        else
            snprintf(buf, sizeof buf, "%.6g", d);
        if (std::fabs(d) >= 1e6 && std::fabs(d) < 9e15 && d != std::floor(d))
            snprintf(buf, sizeof buf, "%.3f", d);
        out_ += buf;
        return *this;
    }
    JsonWriter &null() {
        comma();
        out_ += "null";
        return *this;
    }
    /* a string, or null when empty */
    JsonWriter &string_or_null(const std::string &text) {
        return text.empty() ? null() : value(text);
    }

    template <typename T> JsonWriter &field(const char *name, T v) {
        key(name);
        return value(v);
    }

    const std::string &str() const { return out_; }

  private:
    JsonWriter &open(char c) {
        comma();
        out_ += c;
        first_.push_back(true);
        return *this;
    }
    JsonWriter &close(char c) {
        out_ += c;
        first_.pop_back();
        return *this;
    }
    void comma() {
        if (after_key_) {
            after_key_ = false;
            return;
        }
        if (!first_.empty()) {
            if (!first_.back())
                out_ += ',';
            first_.back() = false;
        }
    }

    std::string out_;
    std::vector<bool> first_;
    bool after_key_ = false;
};

} // namespace qprof
