/* The firmware core: line protocol, command handling, homing and move jobs. Portable C:
 * no AVR headers, so the same file runs in the unit tests and the native simulator. */
#ifndef RIG_FW_H
#define RIG_FW_H
#include <stdint.h>

enum {
    E_CHECKSUM = 1, E_OVERLONG = 2, E_OVERRUN = 3, E_SYNTAX = 4, E_UNKNOWN = 5,
    E_NOT_HOMED = 6, E_LIMIT = 7, E_BUSY = 8, E_ESTOP = 9, E_AXIS = 10,
    E_HOME_FAILED = 11, E_VALUE = 12,
};

void fw_init(const char *reset_cause); /* prints the boot banner */
void fw_rx_byte(uint8_t c);            /* from the UART RX interrupt */
void fw_rx_overrun(void);              /* hardware overrun seen by the UART */
void fw_poll(void);                    /* main loop: parse lines, run jobs; never blocks */
uint8_t fw_idle(void);                 /* nothing to do until the next interrupt */

#endif
