// Reading snowflake.machine_id from its text (see settings.hpp).
#include "settings.hpp"

#include "layout.hpp"
#include "policy.hpp"

namespace snowflake {

bool ParseMachineIdSetting(const char* text, int32_t* machine_id) noexcept {
  if (text == nullptr) return false;
  if (text[0] == '-' && text[1] == '1' && text[2] == '\0') {
    *machine_id = kMachineIdUnset;
    return true;
  }
  if (text[0] == '0' && text[1] == '\0') {
    *machine_id = 0;
    return true;
  }
  if (text[0] < '1' || text[0] > '9') return false;  // no sign, space or leading zero
  int32_t value = 0;
  for (int i = 0; text[i] != '\0'; ++i) {
    if (text[i] < '0' || text[i] > '9' || i >= 4) return false;  // 4 digits hold every valid id
    value = value * 10 + (text[i] - '0');
  }
  if (!ValidMachineId(value)) return false;
  *machine_id = value;
  return true;
}

bool ParseMachineIdRangeSetting(const char* text, int32_t* first, int32_t* last) noexcept {
  if (text == nullptr) return false;
  char low[8];
  int i = 0;
  for (; text[i] != '\0' && text[i] != '-'; ++i) {
    if (i >= 7) return false;
    low[i] = text[i];
  }
  low[i] = '\0';
  int32_t from = kMachineIdUnset, to = kMachineIdUnset;
  if (!ParseMachineIdSetting(low, &from) || from == kMachineIdUnset) return false;
  if (text[i] == '\0') {
    to = from;
  } else if (!ParseMachineIdSetting(text + i + 1, &to) || to == kMachineIdUnset || to < from) {
    return false;
  }
  *first = from;
  *last = to;
  return true;
}

}  // namespace snowflake
