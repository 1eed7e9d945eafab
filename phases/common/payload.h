/* payload.h - the payload pattern of SPEC §2: byte i is (uint8_t)(seq + i).
 *
 * Payloads are never stored by the source; a phase writes them where a
 * message crosses a boundary and the receiving machine verifies them, so a
 * lost, duplicated or shifted byte shows up as the counter `corrupt`. */
#ifndef MSGROUTE_PAYLOAD_H
#define MSGROUTE_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void payload_fill(uint8_t *buf, uint64_t seq, size_t len);
bool payload_check(const uint8_t *buf, uint64_t seq, size_t len);

#endif
