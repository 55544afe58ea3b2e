/* The thin hardware layer the portable core calls. Implemented by avr/main.c (real pins),
 * sim/native.c (virtual motors) and test/test_core.c (recording fakes). */
#ifndef RIG_HAL_H
#define RIG_HAL_H
#include <stdint.h>

void hal_uart_write(const char *s, uint8_t n); /* queue bytes for transmission */
void hal_set_dir(uint8_t axis, uint8_t positive);
void hal_enable(uint8_t on);                   /* stepper drivers' enable line */
uint8_t hal_endstop(uint8_t axis);             /* 1 = switch active */
uint8_t hal_estop_input(void);                 /* 1 = e-stop button pressed */
void hal_motion_start(void);                   /* make sure the step tick runs */
void hal_reset(void);                          /* reset the MCU (after flushing TX) */

/* Critical sections: the core's motion state is shared with the step-tick interrupt. */
#ifdef __AVR__
#include <avr/pgmspace.h>
#define FSTR(s) PSTR(s)       /* constant strings stay in flash: RAM is 2 KB */
#define FCHAR(p) pgm_read_byte(p)
#include <avr/io.h>
#include <avr/interrupt.h>
static inline uint8_t crit_enter(void) { uint8_t s = SREG; cli(); return s; }
static inline void crit_exit(uint8_t s) { __asm__ volatile("" ::: "memory"); SREG = s; }
#else
#define FSTR(s) (s)
#define FCHAR(p) (*(p))
static inline uint8_t crit_enter(void) { return 0; }
static inline void crit_exit(uint8_t s) { (void)s; }
#endif

#endif
