#include "sqlstate.h"

#include <cstring>

namespace qprof {

namespace {

struct Name {
    const char *code;
    const char *name;
};

const Name kCodes[] = {
    {"01000", "warning"},
    {"02000", "no_data"},
    {"08000", "connection_exception"},
    {"08003", "connection_does_not_exist"},
    {"08006", "connection_failure"},
    {"0A000", "feature_not_supported"},
    {"21000", "cardinality_violation"},
    {"22001", "string_data_right_truncation"},
    {"22003", "numeric_value_out_of_range"},
    {"22007", "invalid_datetime_format"},
    {"22008", "datetime_field_overflow"},
    {"22012", "division_by_zero"},
    {"22021", "character_not_in_repertoire"},
    {"22P02", "invalid_text_representation"},
    {"23000", "integrity_constraint_violation"},
    {"23502", "not_null_violation"},
    {"23503", "foreign_key_violation"},
    {"23505", "unique_violation"},
    {"23514", "check_violation"},
    {"23P01", "exclusion_violation"},
    {"25001", "active_sql_transaction"},
    {"25006", "read_only_sql_transaction"},
    {"25P02", "in_failed_sql_transaction"},
    {"25P03", "idle_in_transaction_session_timeout"},
    {"28000", "invalid_authorization_specification"},
    {"28P01", "invalid_password"},
    {"2BP01", "dependent_objects_still_exist"},
    {"34000", "invalid_cursor_name"},
    {"3D000", "invalid_catalog_name"},
    {"3F000", "invalid_schema_name"},
    {"40001", "serialization_failure"},
    {"40P01", "deadlock_detected"},
    {"42501", "insufficient_privilege"},
    {"42601", "syntax_error"},
    {"42602", "invalid_name"},
    {"42702", "ambiguous_column"},
    {"42703", "undefined_column"},
    {"42704", "undefined_object"},
    {"42710", "duplicate_object"},
    {"42712", "duplicate_alias"},
    {"42723", "duplicate_function"},
    {"42803", "grouping_error"},
    {"42804", "datatype_mismatch"},
    {"42830", "invalid_foreign_key"},
    {"42883", "undefined_function"},
    {"42P01", "undefined_table"},
    {"42P02", "undefined_parameter"},
    {"42P07", "duplicate_table"},
    {"53000", "insufficient_resources"},
    {"53100", "disk_full"},
    {"53200", "out_of_memory"},
    {"53300", "too_many_connections"},
    {"53400", "configuration_limit_exceeded"},
    {"54000", "program_limit_exceeded"},
    {"54001", "statement_too_complex"},
    {"55000", "object_not_in_prerequisite_state"},
    {"55006", "object_in_use"},
    {"55P03", "lock_not_available"},
    {"57000", "operator_intervention"},
    {"57014", "query_canceled"},
    {"57P01", "admin_shutdown"},
    {"57P02", "crash_shutdown"},
    {"57P03", "cannot_connect_now"},
    {"57P04", "database_dropped"},
    {"58000", "system_error"},
    {"58030", "io_error"},
    {"P0001", "raise_exception"},
    {"P0002", "no_data_found"},
    {"P0003", "too_many_rows"},
    {"P0004", "assert_failure"},
    {"XX000", "internal_error"},
    {"XX001", "data_corrupted"},
    {"XX002", "index_corrupted"},
};

const Name kClasses[] = {
    {"01", "Warning"},
    {"02", "No Data"},
    {"03", "SQL Statement Not Yet Complete"},
    {"08", "Connection Exception"},
    {"09", "Triggered Action Exception"},
    {"0A", "Feature Not Supported"},
    {"0B", "Invalid Transaction Initiation"},
    {"0L", "Invalid Grantor"},
    {"0P", "Invalid Role Specification"},
    {"0Z", "Diagnostics Exception"},
    {"20", "Case Not Found"},
    {"21", "Cardinality Violation"},
    {"22", "Data Exception"},
    {"23", "Integrity Constraint Violation"},
    {"24", "Invalid Cursor State"},
    {"25", "Invalid Transaction State"},
    {"26", "Invalid SQL Statement Name"},
    {"27", "Triggered Data Change Violation"},
    {"28", "Invalid Authorization Specification"},
    {"2B", "Dependent Privilege Descriptors Still Exist"},
    {"2D", "Invalid Transaction Termination"},
    {"2F", "SQL Routine Exception"},
    {"34", "Invalid Cursor Name"},
    {"38", "External Routine Exception"},
    {"39", "External Routine Invocation Exception"},
    {"3B", "Savepoint Exception"},
    {"3D", "Invalid Catalog Name"},
    {"3F", "Invalid Schema Name"},
    {"40", "Transaction Rollback"},
    {"42", "Syntax Error or Access Rule Violation"},
    {"44", "WITH CHECK OPTION Violation"},
    {"53", "Insufficient Resources"},
    {"54", "Program Limit Exceeded"},
    {"55", "Object Not In Prerequisite State"},
    {"57", "Operator Intervention"},
    {"58", "System Error"},
    {"72", "Snapshot Failure"},
    {"F0", "Configuration File Error"},
    {"HV", "Foreign Data Wrapper Error"},
    {"P0", "PL/pgSQL Error"},
    {"XX", "Internal Error"},
};

} // namespace

std::string sqlstate_class_name(const std::string &sqlstate) {
    for (const Name &c : kClasses)
        if (sqlstate.compare(0, 2, c.code) == 0)
            return c.name;
    return "Class " + sqlstate.substr(0, 2);
}

std::string sqlstate_name(const std::string &sqlstate) {
    for (const Name &c : kCodes)
        if (sqlstate == c.code)
            return c.name;
    return sqlstate_class_name(sqlstate);
}

bool sqlstate_is_timeout(const std::string &sqlstate) {
    return sqlstate == "57014" || sqlstate == "55P03" || sqlstate == "25P03";
}

bool sqlstate_is_cancel(const std::string &sqlstate) {
    return sqlstate == "57014";
}

} // namespace qprof
