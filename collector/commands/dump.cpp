#include "dump.h"
#include "commands.h"
#include "capture_format.h"
#include "capture_reader.h"
#include "errors.h"
#include "json_text.h"
#include "sample_codec.h"
#include "wait_events.h"

#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <map>
#include <sys/stat.h>
#include <unordered_map>
#include <unordered_set>

namespace qprof {

namespace pb = capture::v1;
using google::protobuf::FieldDescriptor;

namespace {

/* Definitions seen so far in one file, to resolve sample references and to
 * find references that were never defined. */
struct FileDefinitions {
    std::unordered_map<uint32_t, std::string> strings;
    std::unordered_map<uint32_t, pb::TagSet> tag_sets;
    std::unordered_map<uint32_t, int64_t> queryid_of_ref;
    std::unordered_map<uint32_t, int64_t> planid_of_ref;

    /* The first undefined reference of `s`, or empty. */
    std::string undefined_reference(const pb::Sample &s) const {
        if (s.application_name_id() && !strings.count(s.application_name_id()))
            return "application_name_id " +
                   std::to_string(s.application_name_id());
        if (s.client_addr_id() && !strings.count(s.client_addr_id()))
            return "client_addr_id " + std::to_string(s.client_addr_id());
        if (s.tag_set_id() && !tag_sets.count(s.tag_set_id()))
            return "tag_set_id " + std::to_string(s.tag_set_id());
        if (s.query_ref() && !queryid_of_ref.count(s.query_ref()))
            return "query_ref " + std::to_string(s.query_ref());
        if (s.plan_ref() && !planid_of_ref.count(s.plan_ref()))
            return "plan_ref " + std::to_string(s.plan_ref());
        return "";
    }

    void learn(const pb::Record &record) {
        if (record.has_string_def())
            strings[record.string_def().id()] = record.string_def().value();
        else if (record.has_tag_set())
            tag_sets[record.tag_set().id()] = record.tag_set();
        else if (record.has_query_text())
            queryid_of_ref[record.query_text().ref()] =
                record.query_text().queryid();
        else if (record.has_plan())
            planid_of_ref[record.plan().ref()] = record.plan().planid();
    }
};

const char *kind_name(const pb::Record &record) {
    const google::protobuf::OneofDescriptor *oneof =
        pb::Record::descriptor()->FindOneofByName("kind");
    const FieldDescriptor *field =
        pb::Record::GetReflection()->GetOneofFieldDescriptor(record, oneof);
    return field == nullptr ? "empty" : field->name().c_str();
}

std::string message_json(const google::protobuf::Message &message) {
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    std::string json;
    if (!google::protobuf::util::MessageToJsonString(message, &json, options)
             .ok())
        return "{}";
    return json;
}

void append_number(std::string &out, const char *key, long long value) {
    out += ",\"";
    out += key;
    out += "\":";
    out += std::to_string(value);
}

void append_unsigned(std::string &out, const char *key,
                     unsigned long long value) {
    out += ",\"";
    out += key;
    out += "\":";
    out += std::to_string(value);
}

void append_text(std::string &out, const char *key, const std::string &value) {
    out += ",\"";
    out += key;
    out += "\":";
    append_json_string(out, value);
}

/* Sample fields whose meaning depends on the block (decoded separately). */
bool is_encoded_field(const std::string &name) {
    static const std::unordered_set<std::string> encoded = {
        "seq_skip",
        "pid",
        "exec_id_delta",
        "parent_exec_distance",
        "start_delta_us",
        "duration_us",
        "application_name_id",
        "client_addr_id",
        "tag_set_id",
        "query_ref",
        "plan_ref",
        "cmd",
        "sqlstate",
        "io",
        "sampled_waits",
        "toplevel",
        "has_node_actuals"};
    return encoded.count(name) != 0;
}

/* `s`: the sample's message, whose fields are shown by reflection */
std::string sample_json(const DecodedSample &d, const pb::Sample &s,
                        const FileDefinitions &defs) {
    std::string out = "{\"kind\":\"sample\"";
    append_unsigned(out, "epoch", d.epoch);
    append_unsigned(out, "seq", d.seq);
    append_number(out, "pid", d.pid);
    append_unsigned(out, "exec_id", d.exec_id);
    append_unsigned(out, "parent_exec_id", d.parent_exec_id);
    out += std::string(",\"toplevel\":") + (s.toplevel() ? "true" : "false");
    out += std::string(",\"has_node_actuals\":") +
           (s.has_node_actuals() ? "true" : "false");
    auto string_of = [&defs](uint32_t id) {
        auto found = defs.strings.find(id);
        return found == defs.strings.end() ? std::string() : found->second;
    };
    append_text(out, "application_name", string_of(s.application_name_id()));
    append_text(out, "client_addr", string_of(s.client_addr_id()));
    out += ",\"tags\":{";
    auto tags = defs.tag_sets.find(s.tag_set_id());
    if (tags != defs.tag_sets.end()) {
        std::map<std::string, std::string> sorted(tags->second.tags().begin(),
                                                  tags->second.tags().end());
        bool first = true;
        for (const auto &tag : sorted) {
            if (!first)
                out += ',';
            first = false;
            append_json_string(out, tag.first);
            out += ':';
            append_json_string(out, tag.second);
        }
    }
    out += '}';
    auto queryid = defs.queryid_of_ref.find(s.query_ref());
    append_number(out, "queryid",
                  queryid == defs.queryid_of_ref.end() ? 0 : queryid->second);
    auto planid = defs.planid_of_ref.find(s.plan_ref());
    append_number(out, "planid",
                  planid == defs.planid_of_ref.end() ? 0 : planid->second);
    append_text(out, "cmd", pb::CmdType_Name(s.cmd()));
    append_number(out, "start_unix_us", d.start_unix_us);
    append_number(out, "end_unix_us", d.end_unix_us);
    append_text(out, "sqlstate", s.sqlstate().empty() ? "00000" : s.sqlstate());

    /* The plain counters, by reflection, so that new fields show up. */
    const google::protobuf::Descriptor *desc = s.GetDescriptor();
    const google::protobuf::Reflection *refl = s.GetReflection();
    for (int i = 0; i < desc->field_count(); ++i) {
        const FieldDescriptor *field = desc->field(i);
        if (is_encoded_field(field->name()))
            continue;
        switch (field->cpp_type()) {
        case FieldDescriptor::CPPTYPE_UINT64:
            append_unsigned(out, field->name().c_str(),
                            refl->GetUInt64(s, field));
            break;
        case FieldDescriptor::CPPTYPE_UINT32:
            append_unsigned(out, field->name().c_str(),
                            refl->GetUInt32(s, field));
            break;
        case FieldDescriptor::CPPTYPE_INT64:
            append_number(out, field->name().c_str(), refl->GetInt64(s, field));
            break;
        case FieldDescriptor::CPPTYPE_INT32:
            append_number(out, field->name().c_str(), refl->GetInt32(s, field));
            break;
        default:
            break;
        }
    }
    if (s.has_io()) {
        out += ",\"io\":";
        google::protobuf::util::JsonPrintOptions options;
        options.preserve_proto_field_names = true;
        options.always_print_primitive_fields = true;
        std::string io;
        google::protobuf::util::MessageToJsonString(s.io(), &io, options);
        out += io;
    }
    if (s.has_sampled_waits()) {
        /* each class by name, with its ticks and its time at the
         * sampler's resolution */
        out += ",\"sampled_waits\":{\"interval_us\":" +
               std::to_string(s.sampled_waits().interval_us()) +
               ",\"classes\":[";
        bool first = true;
        for (const pb::WaitClassTime &c : s.sampled_waits().classes()) {
            out += first ? "{\"class\":" : ",{\"class\":";
            first = false;
            append_json_string(out, wait_event_class_name(
                                        static_cast<uint32_t>(c.wait_class())));
            append_unsigned(out, "ticks", c.count());
            append_unsigned(out, "ns", c.ns());
            out += '}';
        }
        out += "]}";
    }
    out += '}';
    return out;
}

/* A non-sample record as {"kind":..., fields...}. */
std::string record_json(const pb::Record &record) {
    const char *kind = kind_name(record);
    std::string body;
    if (record.has_header()) {
        /* The embedded schema is for programs, not for reading. */
        pb::Header header = record.header();
        header.clear_schema();
        body = message_json(header);
    } else {
        const google::protobuf::Reflection *refl = record.GetReflection();
        const FieldDescriptor *field =
            pb::Record::descriptor()->FindFieldByName(kind);
        body = field == nullptr ? "{}"
                                : message_json(refl->GetMessage(record, field));
    }
    std::string out = "{\"kind\":\"";
    out += kind;
    out += '"';
    if (body.size() > 2) {
        out += ',';
        out.append(body, 1, std::string::npos);
    } else {
        out += '}';
    }
    return out;
}

void report_problems(const std::string &path, const ReadSummary &summary) {
    for (const ReadProblem &problem : summary.problems)
        fprintf(stderr, "%s: %s at offset %llu: %s\n", path.c_str(),
                problem.kind == ReadProblem::Kind::Damage ? "damage"
                                                          : "truncated tail",
                static_cast<unsigned long long>(problem.offset),
                problem.what.c_str());
}

} // namespace

std::vector<std::string>
expand_capture_paths(const std::vector<std::string> &paths) {
    std::vector<std::string> files;
    for (const std::string &path : paths) {
        struct stat st;
        if (stat(path.c_str(), &st) != 0)
            throw CaptureIoError(describe_errno("cannot read " + path, errno));
        if (S_ISDIR(st.st_mode)) {
            std::vector<CaptureFileEntry> found = list_capture_files(path);
            if (found.empty())
                throw CaptureIoError("no capture files (qprof-NNNNNN-*" +
                                     std::string(kCaptureSuffix) + ") in " +
                                     path);
            for (const CaptureFileEntry &file : found)
                files.push_back(file.path);
        } else if (S_ISREG(st.st_mode)) {
            files.push_back(path);
        } else {
            /* a FIFO would block, a device never end */
            throw CaptureIoError(path + " is neither a capture file nor a "
                                        "directory of them");
        }
    }
    return files;
}

int dump_files(const std::vector<std::string> &files) {
    int status = kExitOk;
    std::string line;
    for (const std::string &path : files) {
        FileDefinitions defs;
        ReadSummary summary =
            read_capture_file(path, [&](const pb::Record &record, uint64_t) {
                defs.learn(record);
                if (record.has_sample_block()) {
                    decode_sample_messages(
                        record.sample_block(),
                        [&](const DecodedSample &d, const pb::Sample &s) {
                            line = sample_json(d, s, defs);
                            line += '\n';
                            fwrite(line.data(), 1, line.size(), stdout);
                        });
                } else {
                    line = record_json(record);
                    line += '\n';
                    fwrite(line.data(), 1, line.size(), stdout);
                }
            });
        report_problems(path, summary);
        if (summary.damaged())
            status = kExitDamaged;
    }
    fflush(stdout);
    return status;
}

int check_files(const std::vector<std::string> &files) {
    int status = kExitOk;
    uint64_t total_samples = 0, damaged_files = 0;
    for (const std::string &path : files) {
        FileDefinitions defs;
        std::map<std::string, uint64_t> kinds;
        uint64_t samples = 0;
        std::vector<ReadProblem> semantic;
        /* the reader checks the header (the first record) */
        ReadSummary summary = read_capture_file(
            path, [&](const pb::Record &record, uint64_t frame_offset) {
                ++kinds[kind_name(record)];
                defs.learn(record);
                if (!record.has_sample_block())
                    return;
                for (const pb::Sample &s : record.sample_block().samples()) {
                    std::string missing = defs.undefined_reference(s);
                    if (!missing.empty()) {
                        semantic.push_back(
                            {ReadProblem::Kind::Damage, frame_offset,
                             "sample refers to undefined " + missing});
                        break;
                    }
                }
                samples +=
                    static_cast<uint64_t>(record.sample_block().samples_size());
            });
        summary.problems.insert(summary.problems.end(), semantic.begin(),
                                semantic.end());
        bool damaged = summary.damaged();
        bool truncated = !summary.problems.empty() && !damaged;
        std::string counts;
        for (const auto &kind : kinds)
            counts += " " + kind.first + "=" + std::to_string(kind.second);
        printf("%s: %s, %llu bytes, %llu frames, %llu records, samples=%llu;"
               "%s\n",
               path.c_str(),
               damaged     ? "DAMAGED"
               : truncated ? "ok (truncated tail)"
                           : "ok",
               static_cast<unsigned long long>(summary.file_bytes),
               static_cast<unsigned long long>(summary.frames),
               static_cast<unsigned long long>(summary.records),
               static_cast<unsigned long long>(samples), counts.c_str());
        for (const ReadProblem &problem : summary.problems)
            printf("%s:   %s at offset %llu: %s\n", path.c_str(),
                   problem.kind == ReadProblem::Kind::Damage ? "damage"
                                                             : "truncated tail",
                   static_cast<unsigned long long>(problem.offset),
                   problem.what.c_str());
        total_samples += samples;
        if (damaged) {
            ++damaged_files;
            status = kExitDamaged;
        }
    }
    printf("total: %zu files, %llu samples, %llu damaged\n", files.size(),
           static_cast<unsigned long long>(total_samples),
           static_cast<unsigned long long>(damaged_files));
    fflush(stdout);
    return status;
}

namespace {

const char *kDumpUsage =
    "usage: qprof dump [--check] FILE|DIR...\n"
    "Prints capture files as JSON lines (samples with their definitions\n"
    "resolved); --check validates them and prints a summary line per file.\n"
    "A file must start with a header of a format version this qprof reads;\n"
    "only its last frame may be unfinished (a truncated tail, reported).\n"
    "exit status: 0 ok (truncated tails allowed), 1 usage, 3 a path that is\n"
    "not a regular file or a directory holding capture files, 4 damaged or\n"
    "unreadable file (no header, unknown format version, damage)\n";

} // namespace

int dump_command(int argc, char **argv) {
    bool check = false;
    std::vector<std::string> paths;
    for (int i = 2; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            fputs(kDumpUsage, stdout);
            return kExitOk;
        }
        if (arg == "--check")
            check = true;
        else if (arg.size() > 1 && arg[0] == '-')
            throw UsageError("unknown option " + arg);
        else
            paths.push_back(arg);
    }
    if (paths.empty())
        throw UsageError("dump needs a capture file or directory");
    std::vector<std::string> files = expand_capture_paths(paths);
    return check ? check_files(files) : dump_files(files);
}

} // namespace qprof
