/* Per-axis trapezoidal motion, stepped from a fixed-rate tick (see config.h). Axes move
 * independently and simultaneously: a knob robot needs no coordinated interpolation. */
#ifndef RIG_MOTION_H
#define RIG_MOTION_H
#include <stdint.h>
#include "config.h"

enum { SEEK_NONE = 0, SEEK_HIT = 1, SEEK_FREE = 2 }; /* stop when the switch turns on / off */

typedef struct {
    int32_t pos, target;
    uint32_t v;       /* current speed, steps/s in Q16 */
    uint32_t vlim;    /* speed limit of this segment, Q16 */
    uint32_t vmin;    /* start/stop speed, Q16: the speed reached after one step from rest */
    uint32_t dv;      /* speed change per planner period, Q16 */
    uint16_t vstep;   /* integer steps/s used by the tick (cached v >> 16) */
    uint16_t acc;     /* phase accumulator: a step whenever it passes TICK_HZ */
    uint16_t accel;
    int8_t dir;       /* +1 / -1 while moving, 0 idle */
    uint8_t seek;
} axis_t;

/* Shared with the tick interrupt: touch only inside crit_enter/crit_exit from the main loop. */
extern axis_t mo_axis[AXES];
extern uint8_t mo_done; /* bit per axis: a segment ended (set by the tick, cleared by main) */
extern uint8_t mo_hit;  /* bit per axis: a seek ended on the switch */
extern uint8_t mo_invert; /* bit per axis: the motor is wired to turn the other way (CONFIG invert=1) */

void mo_init(void);
void mo_start(uint8_t axis, int32_t target, uint16_t speed, uint16_t accel, uint8_t seek);
void mo_stop_decel(void);        /* retarget every moving axis to its nearest stopping point */
void mo_halt(void);              /* stop dead (e-stop) */
uint8_t mo_moving(void);         /* bit per moving axis */
int32_t mo_pos(uint8_t axis);
void mo_set_pos(uint8_t axis, int32_t pos);
uint8_t mo_tick(void);           /* the tick: returns the mask of axes to step now */
uint16_t mo_isqrt(uint32_t x);

#endif
