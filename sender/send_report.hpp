#pragma once

// The sender's report, one header per concern: the record types (send_record.hpp), their JSON
// (send_report_json.hpp) and the text audit (send_audit.hpp).

#include "sender/send_audit.hpp"
#include "sender/send_record.hpp"
#include "sender/send_report_json.hpp"
