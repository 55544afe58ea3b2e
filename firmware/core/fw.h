/* The firmware core: line protocol, command handling, homing and move jobs. Portable C:
 * no AVR headers, so the same file runs in the unit tests and the native simulator. */
#ifndef RIG_FW_H
#define RIG_FW_H
#include <stdint.h>

/* The error codes and their texts, defined once: `err N<seq> <code> <text>` always carries the
 * text of this table, PROTOCOL.md's table lists the same rows, and rig/knobs/protocol.py is
 * checked against this list by tests/firmware/test_protocol_table.py. */
#define FW_ERRORS(X)                          \
    X(1, E_CHECKSUM, "checksum")              \
    X(2, E_OVERLONG, "line too long")         \
    X(3, E_OVERRUN, "rx overrun")             \
    X(4, E_SYNTAX, "syntax")                  \
    X(5, E_UNKNOWN, "unknown command")        \
    X(6, E_NOT_HOMED, "axis not homed")       \
    X(7, E_LIMIT, "outside 0..travel")        \
    X(8, E_BUSY, "busy")                      \
    X(9, E_ESTOP, "estop")                    \
    X(10, E_AXIS, "no such axis")             \
    X(11, E_HOME_FAILED, "home-failed")       \
    X(12, E_VALUE, "value out of range")

#define FW_ERROR_ENUM(code, name, text) name = code,
enum { FW_ERRORS(FW_ERROR_ENUM) };
#undef FW_ERROR_ENUM

/* The commands and their handlers (in fw.c): requests dispatch from this table, and
 * PROTOCOL.md's command table names the same words (tests/firmware/test_protocol_table.py). */
#define FW_COMMANDS(X)      \
    X(HELLO, cmd_hello)     \
    X(INFO, cmd_hello)      \
    X(STATUS, cmd_status)   \
    X(POS, cmd_status)      \
    X(MOVE, cmd_move)       \
    X(HOME, cmd_home)       \
    X(CONFIG, cmd_config)   \
    X(STOP, cmd_stop)       \
    X(ESTOP, cmd_estop)     \
    X(CLEAR, cmd_clear)     \
    X(RESET, cmd_reset)

void fw_init(const char *reset_cause); /* prints the boot banner */
void fw_rx_byte(uint8_t c);            /* from the UART RX interrupt */
void fw_rx_overrun(void);              /* hardware overrun seen by the UART */
void fw_poll(void);                    /* main loop: parse lines, run jobs; never blocks */
uint8_t fw_idle(void);                 /* nothing to do until the next interrupt */

#endif
