#pragma once

// The sender's report, one header per concern: the record types (send_record.hpp), their JSON
// (send_report_json.hpp) and the text audit (send_audit.hpp).

#include "send_audit.hpp"
#include "send_record.hpp"
#include "send_report_json.hpp"
