#ifndef RIG_CRC8_H
#define RIG_CRC8_H
#include <stdint.h>
/* CRC-8, polynomial 0x07, init 0 (same as avr-libc _crc8_ccitt_update): catches every
 * single corrupted byte and every burst up to 8 bits, unlike an XOR sum. */
static inline uint8_t crc8(const char *s, uint8_t n) {
    uint8_t crc = 0;
    while (n--) {
        crc ^= (uint8_t)*s++;
        for (uint8_t i = 0; i < 8; i++) crc = (crc & 0x80) ? (uint8_t)((crc << 1) ^ 0x07) : (uint8_t)(crc << 1);
    }
    return crc;
}
#endif
