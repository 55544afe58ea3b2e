#include "motion.h"
#include "hal.h"

axis_t mo_axis[AXES];
uint8_t mo_done, mo_hit, mo_invert;
static uint8_t phase;

void mo_init(void) {
    for (uint8_t i = 0; i < AXES; i++) {
        axis_t *a = &mo_axis[i];
        a->pos = a->target = 0;
        a->v = a->vstep = a->acc = 0;
        a->dir = 0;
        a->seek = SEEK_NONE;
    }
    mo_done = mo_hit = mo_invert = 0;
}

uint16_t mo_isqrt(uint32_t x) {
    uint32_t r = 0, bit = 1ul << 30;
    while (bit > x) bit >>= 2;
    while (bit) {
        if (x >= r + bit) { x -= r + bit; r = (r >> 1) + bit; } else r >>= 1;
        bit >>= 2;
    }
    return (uint16_t)r;
}

void mo_start(uint8_t i, int32_t target, uint16_t speed, uint16_t accel, uint8_t seek) {
    axis_t *a = &mo_axis[i];
    uint8_t bit = (uint8_t)(1u << i);
    uint16_t vmin = mo_isqrt(2ul * accel);
    if (vmin < 1) vmin = 1;
    if (vmin > speed) vmin = speed;
    uint8_t s = crit_enter();
    a->accel = accel;
    a->dv = ((uint32_t)accel << 16) / PLAN_HZ;
    a->vmin = (uint32_t)vmin << 16;
    a->vlim = (uint32_t)speed << 16;
    a->target = target;
    a->seek = seek;
    mo_done &= (uint8_t)~bit;
    mo_hit &= (uint8_t)~bit;
    if (target == a->pos) {
        a->dir = 0;
        mo_done |= bit;
    } else {
        int8_t d = target > a->pos ? 1 : -1;
        if (a->dir != d) { /* from rest: step on the very next tick, at the start speed */
            a->v = a->vmin;
            a->vstep = vmin;
            a->acc = (uint16_t)(TICK_HZ - vmin);
        }
        hal_set_dir(i, (d > 0) != ((mo_invert >> i) & 1));
        a->dir = d;
    }
    crit_exit(s);
    hal_motion_start();
}

void mo_stop_decel(void) {
    uint8_t s = crit_enter();
    for (uint8_t i = 0; i < AXES; i++) {
        axis_t *a = &mo_axis[i];
        if (!a->dir) continue;
        uint32_t vi = a->v >> 16;
        int32_t dist = (int32_t)(vi * vi / (2ul * a->accel)) + 1;
        int32_t t = a->pos + a->dir * dist;
        if ((a->dir > 0 && t < a->target) || (a->dir < 0 && t > a->target)) a->target = t;
        a->seek = SEEK_NONE;
    }
    crit_exit(s);
}

void mo_halt(void) {
    uint8_t s = crit_enter();
    for (uint8_t i = 0; i < AXES; i++) {
        mo_axis[i].dir = 0;
        mo_axis[i].v = 0;
        mo_axis[i].target = mo_axis[i].pos;
    }
    mo_done = mo_hit = 0;
    crit_exit(s);
}

uint8_t mo_moving(void) {
    uint8_t m = 0, s = crit_enter();
    for (uint8_t i = 0; i < AXES; i++)
        if (mo_axis[i].dir) m |= (uint8_t)(1u << i);
    crit_exit(s);
    return m;
}

int32_t mo_pos(uint8_t i) {
    uint8_t s = crit_enter();
    int32_t p = mo_axis[i].pos;
    crit_exit(s);
    return p;
}

void mo_set_pos(uint8_t i, int32_t p) {
    uint8_t s = crit_enter();
    mo_axis[i].pos = mo_axis[i].target = p;
    crit_exit(s);
}

/* Speed update for one axis (1 kHz): accelerate towards vlim unless the remaining distance,
 * minus one planner period of travel as look-ahead, is within the braking distance v^2/2a.
 * Never below vmin while steps remain, so a move always arrives exactly on target. */
static void plan(axis_t *a) {
    if (!a->dir) return;
    int32_t d = a->target - a->pos;
    uint32_t rem = (uint32_t)(d < 0 ? -d : d);
    uint32_t vi = a->v >> 16;
    uint32_t look = vi / PLAN_HZ + 1;
    rem = rem > look ? rem - look : 0;
    if (rem > 65535u) rem = 65535u;
    uint32_t v = a->v;
    if (a->seek == SEEK_NONE && vi * vi >= 2ul * a->accel * rem) {
        v = v > a->vmin + a->dv ? v - a->dv : a->vmin;
    } else if (v < a->vlim) {
        v += a->dv;
        if (v > a->vlim) v = a->vlim;
    } else if (v > a->vlim) {
        v = v > a->vlim + a->dv ? v - a->dv : a->vlim;
    }
    a->v = v;
    a->vstep = (uint16_t)(v >> 16);
}

uint8_t mo_tick(void) {
    uint8_t mask = 0;
    for (uint8_t i = 0; i < AXES; i++) {
        axis_t *a = &mo_axis[i];
        if (!a->dir) continue;
        uint8_t bit = (uint8_t)(1u << i);
        if (a->seek && hal_endstop(i) == (a->seek == SEEK_HIT)) {
            a->dir = 0;  /* seeks run slowly enough to stop dead on the switch */
            a->v = 0;
            a->target = a->pos;
            mo_hit |= bit;
            mo_done |= bit;
            continue;
        }
        uint16_t acc = a->acc + a->vstep;
        if (acc >= TICK_HZ) {
            acc -= TICK_HZ;
            mask |= bit;
            a->pos += a->dir;
            if (a->pos == a->target) {
                a->dir = 0;
                a->v = 0;
                mo_done |= bit;
            }
        }
        a->acc = acc;
    }
    phase++;
    if ((phase & 3) == 0) plan(&mo_axis[(phase >> 2) & 3]);
    return mask;
}
