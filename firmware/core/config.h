/* Compile-time constants shared by the AVR build, the native simulator and the unit tests. */
#ifndef RIG_CONFIG_H
#define RIG_CONFIG_H

#define FW_NAME "rig-fw"
#define FW_VERSION "2.1" /* 2.x: CRC-16 line checks (1.x had CRC-8); 2.1: limits in HELLO */
#define AXES 4

/* Step tick: one timer interrupt per tick. A STEP pulse is raised in one tick and lowered at
 * the start of the next, so an axis steps at most every other tick: max rate = TICK_HZ / 2. */
#define TICK_HZ 16000u
#define MAX_RATE (TICK_HZ / 2)
/* The velocity planner updates one axis every 4 ticks, so each axis is planned at 1 kHz. */
#define PLAN_HZ 1000u

#define MAX_ACCEL 30000u  /* keeps 2 * accel * 65535 inside uint32 */
#define MAX_TRAVEL 60000L
#define MAX_BACKLASH 2000
#define MAXLINE 100       /* request bytes before newline, checksum included */
#define RX_RING 128       /* power of two */
#define OUT_MAX 112       /* longest reply line incl. checksum and '\n' */

#endif
