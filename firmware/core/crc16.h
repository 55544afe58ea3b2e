#ifndef RIG_CRC16_H
#define RIG_CRC16_H
#include <stdint.h>
/* CRC-16/XMODEM: polynomial 0x1021, init 0, no reflection (avr-libc _crc_xmodem_update).
 * Hamming distance 4 over any line we send: every corruption of up to three bits in a line
 * is caught, worse ones slip through 1 in 65536. CRC-8 (protocol 1.x) let two flipped bits
 * 127 bits apart through: at 1 % noisy bytes about one line in a thousand passed damaged. */
#ifdef __AVR__
#include <util/crc16.h>
#endif
static inline uint16_t crc16(const char *s, uint8_t n) {
    uint16_t crc = 0;
    while (n--) {
#ifdef __AVR__
        crc = _crc_xmodem_update(crc, (uint8_t)*s++);
#else
        crc ^= (uint16_t)((uint16_t)(uint8_t)*s++ << 8);
        for (uint8_t i = 0; i < 8; i++) crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
#endif
    }
    return crc;
}
#endif
