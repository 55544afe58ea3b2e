/* The hardware layer for the ATmega328P: UART interrupts with rings, the step tick on
 * Timer1, a 61 Hz housekeeping wake-up on Timer0, the watchdog and idle sleep. Everything
 * else is the portable core (core/). */
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/sleep.h>
#include <avr/wdt.h>
#include "../core/config.h"
#include "../core/fw.h"
#include "../core/hal.h"
#include "../core/motion.h"
#include "pins.h"

#define BAUD 115200
#define BAUD_TOL 3 /* 115200 at 16 MHz is 2.1 % off even with U2X */
#include <util/setbaud.h>

#define TX_RING 128
static volatile uint8_t tx_buf[TX_RING];
static volatile uint8_t tx_head, tx_tail;
static uint8_t mcusr_at_boot __attribute__((section(".noinit")));

/* After a watchdog reset the watchdog stays on with its shortest timeout: switch it off
 * before main() so the C runtime start-up cannot trip it again. */
void early_init(void) __attribute__((naked, used, section(".init3")));
void early_init(void) {
    mcusr_at_boot = MCUSR;
    MCUSR = 0;
    wdt_disable();
}

ISR(USART_RX_vect) {
    uint8_t st = UCSR0A, c = UDR0;
    if (st & _BV(DOR0)) fw_rx_overrun();
    fw_rx_byte(c); /* framing errors pass through: the line's checksum will fail */
}

ISR(USART_UDRE_vect) {
    if (tx_head == tx_tail) { UCSR0B &= (uint8_t)~_BV(UDRIE0); return; }
    UDR0 = tx_buf[tx_tail];
    tx_tail = (uint8_t)((tx_tail + 1) & (TX_RING - 1));
}

ISR(TIMER1_COMPA_vect) {
    STEP_PORT &= (uint8_t)~STEP_MASK;           /* end the pulses raised one tick ago */
    uint8_t m = mo_tick();
    STEP_PORT |= (uint8_t)(m << STEP_SHIFT);
}

EMPTY_INTERRUPT(TIMER0_OVF_vect); /* only wakes the main loop to feed the watchdog */

void hal_uart_write(const char *s, uint8_t n) {
    while (n--) {
        uint8_t next = (uint8_t)((tx_head + 1) & (TX_RING - 1));
        while (next == tx_tail) {} /* ring full: the UDRE interrupt is draining it */
        tx_buf[tx_head] = (uint8_t)*s++;
        tx_head = next;
        UCSR0B |= _BV(UDRIE0);
    }
}

void hal_set_dir(uint8_t a, uint8_t positive) {
    if (positive) DIR_PORT |= (uint8_t)(1u << a);
    else DIR_PORT &= (uint8_t)~(1u << a);
}

void hal_enable(uint8_t on) {
    if (on) PORTB &= (uint8_t)~_BV(EN_BIT);
    else PORTB |= _BV(EN_BIT);
}

uint8_t hal_endstop(uint8_t a) { return !(ENDSTOP_PIN & (1u << (a + ENDSTOP_SHIFT))); }
uint8_t hal_estop_input(void) { return (ESTOP_PIN & _BV(ESTOP_BIT)) != 0; }

void hal_motion_start(void) {
    uint8_t s = crit_enter();
    if (!(TIMSK1 & _BV(OCIE1A))) {
        TCNT1 = 0;
        TIFR1 = _BV(OCF1A);
        TIMSK1 |= _BV(OCIE1A);
        TCCR1B = _BV(WGM12) | _BV(CS10); /* CTC, no prescaler */
        PORTB |= _BV(LED_BIT);
    }
    crit_exit(s);
}

static void motion_idle(void) {
    uint8_t s = crit_enter();
    TIMSK1 &= (uint8_t)~_BV(OCIE1A);
    TCCR1B = _BV(WGM12); /* clock stopped: a silent timer costs nothing (and simavr idles) */
    STEP_PORT &= (uint8_t)~STEP_MASK;
    PORTB &= (uint8_t)~_BV(LED_BIT);
    crit_exit(s);
}

void hal_reset(void) {
    while (tx_head != tx_tail) {}
    UCSR0A |= _BV(TXC0);
    while (!(UCSR0A & _BV(TXC0))) {}
    wdt_enable(WDTO_15MS);
    for (;;) {}
}

static const char *reset_cause(uint8_t r) {
    if (r & _BV(WDRF)) return PSTR("watchdog");
    if (r & _BV(EXTRF)) return PSTR("external");
    if (r & _BV(BORF)) return PSTR("brownout");
    return PSTR("power");
}

int main(void) {
    STEP_DDR |= STEP_MASK;
    DIR_DDR |= 0x0F;
    DDRB |= _BV(EN_BIT) | _BV(LED_BIT);
    PORTB |= _BV(EN_BIT) | (0x0F << ENDSTOP_SHIFT); /* drivers off, end-stop pull-ups on */
    PORTC |= _BV(ESTOP_BIT);                         /* e-stop pull-up */

    /* INT0/INT1 sit on STEP0/STEP1 and stay disabled; their default "low level" sense makes
     * simavr poll those pins every cycle while they are low (burning a host core even when
     * the MCU sleeps), so select edge sense, which changes nothing on real hardware. */
    EICRA = _BV(ISC01) | _BV(ISC00) | _BV(ISC11) | _BV(ISC10);

    UBRR0H = UBRRH_VALUE;
    UBRR0L = UBRRL_VALUE;
#if USE_2X
    UCSR0A |= _BV(U2X0);
#else
    UCSR0A &= (uint8_t)~_BV(U2X0);
#endif
    UCSR0C = _BV(UCSZ01) | _BV(UCSZ00);
    UCSR0B = _BV(RXEN0) | _BV(TXEN0) | _BV(RXCIE0);

    TCCR1A = 0;
    TCCR1B = _BV(WGM12);             /* CTC; clock started by hal_motion_start */
    OCR1A = (uint16_t)(F_CPU / TICK_HZ - 1);
    TCCR0B = _BV(CS02) | _BV(CS00);  /* /1024: overflow at 61 Hz */
    TIMSK0 = _BV(TOIE0);

    wdt_enable(WDTO_500MS);
    sei();
    fw_init(reset_cause(mcusr_at_boot));
    set_sleep_mode(SLEEP_MODE_IDLE);
    for (;;) {
        wdt_reset();
        fw_poll();
        if (!mo_moving()) motion_idle();
        cli();
        if (fw_idle()) {
            /* sei; sleep is atomic on AVR: an interrupt between them still wakes us */
            sleep_enable();
            sei();
            sleep_cpu();
            sleep_disable();
        }
        sei();
    }
}
