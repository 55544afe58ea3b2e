/* Pin map (Arduino Uno / Nano, ATmega328P). Fixed at compile time; see PROTOCOL.md.
 *   STEP0..3  PD2..PD5  (D2..D5)   one port, so all STEP edges of a tick are one write
 *   DIR0..3   PC0..PC3  (A0..A3)   high = positive (clockwise, towards "10")
 *   ENABLE    PB0       (D8)       active low, shared by all drivers
 *   ENDSTOP0..3 PB1..PB4 (D9..D12) active low, internal pull-ups, switch to GND
 *   ESTOP     PC4       (A4)       normally-closed button to GND: high = pressed or wire cut
 *   LED       PB5       (D13)      on while moving
 *   UART      PD0/PD1   (D0/D1)    115200 8N1 */
#ifndef RIG_PINS_H
#define RIG_PINS_H
#define STEP_PORT PORTD
#define STEP_DDR DDRD
#define STEP_SHIFT 2
#define STEP_MASK (0x0F << STEP_SHIFT)
#define DIR_PORT PORTC
#define DIR_DDR DDRC
#define EN_BIT 0 /* PB0 */
#define ENDSTOP_PIN PINB
#define ENDSTOP_SHIFT 1
#define ESTOP_PIN PINC
#define ESTOP_BIT 4 /* PC4 */
#define LED_BIT 5 /* PB5 */
#endif
