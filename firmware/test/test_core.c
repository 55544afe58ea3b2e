/* Host unit tests of the portable firmware core (protocol parser, commands, planner, homing).
 * The HAL below records what the core asks of the hardware, and a fake "shaft" per axis
 * follows the STEP pulses with mechanical stops, like the simulators. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../core/config.h"
#include "../core/crc16.h"
#include "../core/fw.h"
#include "../core/hal.h"
#include "../core/motion.h"

static char out[65536];
static size_t out_n, out_mark;
static int dir_pos[AXES], enabled, estop_btn, resets;
static long shaft[AXES], shaft_max = 3413;
static long ticks;
static long step_tick[AXES][20000];
static long nsteps[AXES];
static int failures, checks;

void hal_uart_write(const char *s, uint8_t n) {
    if (out_n + n < sizeof out) { memcpy(out + out_n, s, n); out_n += n; out[out_n] = 0; }
}
void hal_set_dir(uint8_t a, uint8_t p) { dir_pos[a] = p; }
void hal_enable(uint8_t on) { enabled = on; }
static int switch_broken;
uint8_t hal_endstop(uint8_t a) { return !switch_broken && shaft[a] <= 0; } /* switch closes against the stop */
uint8_t hal_estop_input(void) { return (uint8_t)estop_btn; }
void hal_motion_start(void) {}
void hal_reset(void) { resets++; }

#define CHECK(cond, ...) do { checks++; if (!(cond)) { failures++; printf("  FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)

static const char *since_mark(void) { const char *p = out + out_mark; out_mark = out_n; return p; }

static void feed(const char *s) { while (*s) fw_rx_byte((uint8_t)*s++); }

/* Send "body*HHHH\n" (checksum in upper- or lower-case hex) and return everything the
 * firmware wrote in answer. */
static const char *send_line(const char *body, int lower) {
    char buf[256];
    snprintf(buf, sizeof buf, lower ? "%s*%04x\n" : "%s*%04X\n", body, crc16(body, (uint8_t)strlen(body)));
    since_mark();
    feed(buf);
    fw_poll();
    return since_mark();
}
static const char *req(const char *body) { return send_line(body, 0); }
/* Send a request; its answer must contain `want` (a failure shows what came back instead). */
#define EXPECT(body, want, what) \
    do { const char *r_ = req(body); CHECK(strstr(r_, want), "%s: %s -> %s", what, body, r_); } while (0)
static const char *req_lower_hex(const char *body) { return send_line(body, 1); }

static void tick(void) {
    uint8_t m = mo_tick();
    ticks++;
    for (int a = 0; a < AXES; a++) {
        if (!(m & (1 << a))) continue;
        if (nsteps[a] < 20000) step_tick[a][nsteps[a]] = ticks;
        nsteps[a]++;
        shaft[a] += dir_pos[a] ? 1 : -1;
        if (shaft[a] < 0) shaft[a] = 0;
        if (shaft[a] > shaft_max) shaft[a] = shaft_max;
    }
    fw_poll();
}
static void run_ms(long ms) { for (long t = 0; t < ms * (long)(TICK_HZ / 1000); t++) tick(); }
static int run_until(const char *what, long max_ms) {
    for (long t = 0; t < max_ms * (long)(TICK_HZ / 1000); t++) {
        tick();
        if (strstr(out + out_mark, what)) return 1;
    }
    return 0;
}

/* Every line the firmware writes must carry a valid checksum. */
static int all_lines_valid(void) {
    char *p = out;
    while (*p) {
        char *e = strchr(p, '\n');
        if (!e) return 0;
        size_t n = (size_t)(e - p);
        if (n < 6 || p[n - 5] != '*') return 0;
        unsigned v;
        if (sscanf(p + n - 4, "%4X", &v) != 1 || crc16(p, (uint8_t)(n - 5)) != v) return 0;
        p = e + 1;
    }
    return 1;
}

static void boot(void) {
    out_n = out_mark = 0;
    out[0] = 0;
    memset(nsteps, 0, sizeof nsteps);
    estop_btn = 0;
    for (int a = 0; a < AXES; a++) shaft[a] = 1000 + 300 * a; /* unknown to the firmware */
    fw_init("power");
}

static void home_all(void) {
    for (int a = 0; a < AXES; a++) {
        char b[64];
        snprintf(b, sizeof b, "N%d CONFIG %d speed=4000 accel=20000 hspeed=2000", 900 + a, a);
        req(b);
    }
    EXPECT("N950 HOME", "ok N950", "home accepted");
    CHECK(run_until("!done N950", 5000), "homing finished");
}

static void test_banner_and_hello(void) {
    boot();
    CHECK(strncmp(out, "rig-fw " FW_VERSION " axes=4 reset=power homed=0*", 38) == 0, "banner: %s", out);
    const char *r = req("N1 HELLO");
    /* the host reads the limits from here instead of hard-coding them */
    CHECK(strstr(r, "ok N1 rig-fw " FW_VERSION " axes=4 maxrate=8000 maxaccel=30000 maxtravel=60000 homed=0,0,0,0*") != NULL,
          "hello: %s", r);
}

static void test_bad_checksum(void) {
    boot();
    since_mark();
    feed("N1 HELLO*0000\n");
    fw_poll();
    const char *r = since_mark();
    CHECK(strncmp(r, "err N? 1 checksum", 17) == 0, "wrong crc: %s", r);
    feed("N2 HELLO\n"); /* no checksum at all */
    fw_poll();
    r = since_mark();
    CHECK(strncmp(r, "err N? 1 checksum", 17) == 0, "missing crc: %s", r);
    feed("N3 HELLO*G100\n");
    fw_poll();
    r = since_mark();
    CHECK(strncmp(r, "err N? 1 checksum", 17) == 0, "bad hex: %s", r);
    /* lower-case hex is accepted */
    r = req_lower_hex("N4 HELLO");
    CHECK(strncmp(r, "ok N4", 5) == 0, "lowercase hex: %s", r);
}

static void test_overlong(void) {
    boot();
    char big[200];
    memset(big, 'A', sizeof big);
    big[199] = 0;
    since_mark();
    feed("N1 ");
    feed(big);
    feed("*00\n");
    fw_poll(); /* the ring holds 127 bytes: poll while feeding to avoid an overrun here */
    const char *r = since_mark();
    /* the line was longer than the ring, so this must report overrun or overlong, never ok */
    CHECK(strstr(r, "err N? ") && !strstr(r, "ok"), "overlong: %s", r);
    /* feed in small chunks so only the length limit triggers */
    boot();
    since_mark();
    for (int k = 0; k < 4; k++) { feed("N1 HELLO HELLO HELLO HELLO HELLO"); fw_poll(); }
    feed("*00\n");
    fw_poll();
    r = since_mark();
    CHECK(strncmp(r, "err N? 2 line too long", 22) == 0, "overlong: %s", r);
    EXPECT("N5 HELLO", "ok N5", "recovers after overlong line");
}

static void test_overrun(void) {
    boot();
    since_mark();
    for (int i = 0; i < 20; i++) feed("N7 STATUS*00\n"); /* 260 bytes without the main loop running */
    fw_poll();
    const char *r = since_mark();
    CHECK(strstr(r, "err N? 3 rx overrun") != NULL, "overrun reported: %s", r);
    EXPECT("N8 STATUS", "ok N8", "recovers after overrun");
    since_mark();
    fw_rx_overrun(); /* the UART's own overrun flag */
    feed("N9 STATUS*00\n");
    fw_poll();
    r = since_mark();
    CHECK(strstr(r, "err N? 3") != NULL, "hardware overrun: %s", r);
}

static void test_unknown_and_syntax(void) {
    boot();
    EXPECT("N1 FROB", "err N1 5 unknown", "unknown command");
    EXPECT("HELLO", "err N? 4", "missing sequence number");
    EXPECT("N99999 HELLO", "err N? 4", "sequence out of range");
    EXPECT("N2 MOVE 7:10", "err N2 10", "bad axis");
    EXPECT("N3 MOVE 0=10", "err N3 4", "bad move syntax");
    EXPECT("N4 CONFIG 0 speed=99999", "err N4 12", "speed range");
    EXPECT("N5 CONFIG 0 colour=red", "err N5 4", "unknown key");
    EXPECT("N6 CONFIG 0 home=magic", "err N6 12", "bad home mode");
}

static void test_not_homed_and_limits(void) {
    boot();
    EXPECT("N1 MOVE 0:100", "err N1 6", "move refused before homing");
    home_all();
    for (int a = 0; a < AXES; a++) CHECK(shaft[a] == 0, "hardstop homing put shaft %d at the stop (%ld)", a, shaft[a]);
    const char *r = req("N2 STATUS");
    CHECK(strstr(r, "homed=1,1,1,1 pos=0,0,0,0"), "status after home: %s", r);
    long before = nsteps[0];
    EXPECT("N3 MOVE 0:3414", "err N3 7", "above travel refused");
    EXPECT("N4 MOVE 0:-1", "err N4 7", "below zero refused");
    EXPECT("N5 MOVE 1:10 0:5000", "err N5 7", "one bad axis refuses the whole move");
    run_ms(50);
    CHECK(nsteps[0] == before && nsteps[1] == 0 + nsteps[1], "nothing moved on refusal");
    EXPECT("N6 STATUS", "pos=0,0,0,0", "still at zero");
    EXPECT("N7 MOVE 0:3413", "ok N7", "travel itself allowed");
    CHECK(run_until("!done N7 pos=3413,0,0,0", 3000), "reached travel");
    CHECK(shaft[0] == 3413, "shaft at travel: %ld", shaft[0]);
}

static void test_repeated_sequence(void) {
    boot();
    home_all();
    const char *r1 = req("N20 MOVE 0:500");
    char first[64];
    snprintf(first, sizeof first, "%s", r1);
    CHECK(strstr(first, "ok N20"), "first move ok");
    CHECK(run_until("!done N20", 2000), "first move done");
    long steps = nsteps[0];
    const char *r2 = req("N20 MOVE 0:500");
    CHECK(strcmp(first, r2) == 0, "identical cached reply: '%s' vs '%s'", first, r2);
    r2 = req("N20 MOVE 0:2000"); /* even a different body: same seq means a resend */
    CHECK(strcmp(first, r2) == 0, "cached reply for a resent seq");
    run_ms(500);
    CHECK(nsteps[0] == steps, "no second action (%ld vs %ld steps)", nsteps[0], steps);
    EXPECT("N21 STATUS", "pos=500,", "position unchanged");
    /* an error reply is cached too */
    char e[64];
    snprintf(e, sizeof e, "%s", req("N22 FROB"));
    CHECK(strcmp(e, req("N22 FROB")) == 0, "cached error");
}

static void test_trapezoid(void) {
    boot();
    home_all();
    req("N30 CONFIG 0 speed=2000 accel=4000");
    memset(nsteps, 0, sizeof nsteps);
    long t0 = ticks;
    req("N31 MOVE 0:3000");
    CHECK(run_until("!done N31 pos=3000", 5000), "long move done");
    CHECK(nsteps[0] == 3000, "exact step count %ld", nsteps[0]);
    /* theory: ramps of v/a = 0.5 s over v^2/2a = 500 steps each, cruise 2000 steps at
     * 2000/s = 1 s: 2.0 s (a little less: motion starts at the start speed, not zero) */
    double secs = (double)(step_tick[0][2999] - t0) / TICK_HZ;
    CHECK(secs > 1.90 && secs < 2.02, "move time %.3f s (theory 2.0 s)", secs);
    /* peak rate never above the limit: minimum interval between steps >= TICK/2000 ticks */
    long min_iv = 1000000;
    for (int i = 1; i < 3000; i++) {
        long iv = step_tick[0][i] - step_tick[0][i - 1];
        if (iv < min_iv) min_iv = iv;
    }
    CHECK(min_iv >= (long)(TICK_HZ / 2000), "min step interval %ld ticks", min_iv);
    /* accelerating: the first 100 steps take longer than 100 steps at cruise */
    double first100 = (double)(step_tick[0][100] - step_tick[0][0]) / TICK_HZ;
    double mid100 = (double)(step_tick[0][1600] - step_tick[0][1500]) / TICK_HZ;
    double last100 = (double)(step_tick[0][2999] - step_tick[0][2899]) / TICK_HZ;
    CHECK(first100 > 2 * mid100, "ramp up (%.3f vs cruise %.3f)", first100, mid100);
    CHECK(last100 > 2 * mid100, "ramp down (%.3f vs cruise %.3f)", last100, mid100);
    CHECK(mid100 > 0.049 && mid100 < 0.051, "cruise at 2000 steps/s (%.4f s per 100)", mid100);
    /* a short move is a triangle: 200 steps with a=4000 -> 2*sqrt(2*100/4000) = 0.447 s */
    memset(nsteps, 0, sizeof nsteps);
    t0 = ticks;
    req("N32 MOVE 0:2800");
    CHECK(run_until("!done N32 pos=2800", 2000), "short move done");
    secs = (double)(step_tick[0][199] - t0) / TICK_HZ;
    CHECK(secs > 0.38 && secs < 0.46, "triangle move time %.3f s (theory 0.447)", secs);
    /* max rate: 4 axes at once at 8000 steps/s */
    for (int a = 0; a < AXES; a++) {
        char b[64];
        snprintf(b, sizeof b, "N%d CONFIG %d speed=8000 accel=30000 travel=60000 hspeed=8000", 40 + a, a);
        req(b);
    }
    shaft_max = 60000;
    req("N49 HOME");
    CHECK(run_until("!done N49", 15000), "fast homing");
    memset(nsteps, 0, sizeof nsteps);
    t0 = ticks;
    req("N50 MOVE 0:20000 1:20000 2:20000 3:20000");
    CHECK(run_until("!done N50 pos=20000,20000,20000,20000", 5000), "4-axis fast move");
    secs = (double)(ticks - t0) / TICK_HZ;
    CHECK(secs > 2.6 && secs < 2.85, "4 axes x 20000 steps at 8 kHz in %.3f s (theory 2.77)", secs);
    shaft_max = 3413;
}

static void test_stop_estop(void) {
    boot();
    home_all();
    req("N60 MOVE 0:3000 1:3000");
    run_ms(300);
    EXPECT("N61 STOP", "ok N61", "stop ok");
    CHECK(run_until("!done N60", 2000), "move ends after stop");
    int32_t p = mo_pos(0);
    CHECK(p > 100 && p < 3000, "decelerated to a stop at %ld", (long)p);
    CHECK(shaft[0] == p, "shaft follows (%ld vs %ld)", shaft[0], (long)p);
    req("N62 MOVE 0:3000");
    run_ms(200);
    EXPECT("N63 ESTOP", "ok N63", "estop ok");
    CHECK(strstr(out, "!alarm N62 9 estop"), "job aborted with alarm");
    CHECK(!enabled, "drivers disabled");
    long s = nsteps[0];
    run_ms(200);
    CHECK(nsteps[0] == s, "no steps after estop");
    EXPECT("N64 MOVE 0:10", "err N64 9", "latched");
    EXPECT("N65 HOME", "err N65 9", "home refused while latched");
    EXPECT("N66 STATUS", "state=estop homed=0,0,0,0", "status estop");
    EXPECT("N67 CLEAR", "ok N67", "clear");
    EXPECT("N68 MOVE 0:10", "err N68 6", "needs homing after estop");
    estop_btn = 1;
    fw_poll();
    CHECK(strstr(since_mark(), "!alarm N? 9 estop src=button*"), "button estop");
    EXPECT("N69 CLEAR", "err N69 9", "cannot clear while pressed");
    estop_btn = 0;
    EXPECT("N70 CLEAR", "ok N70", "clear after release");
}

static void test_backlash(void) {
    boot();
    home_all();
    req("N80 CONFIG 0 backlash=50");
    req("N81 MOVE 0:1000");
    CHECK(run_until("!done N81", 2000), "up move");
    long s = nsteps[0];
    req("N82 MOVE 0:600");
    CHECK(run_until("!done N82 pos=600", 2000), "down move ends on target");
    CHECK(nsteps[0] - s == 400 + 100, "overshoot 50 and come back (%ld steps)", nsteps[0] - s);
    s = nsteps[0];
    req("N83 MOVE 0:700");
    CHECK(run_until("!done N83 pos=700", 2000), "up move direct");
    CHECK(nsteps[0] - s == 100, "no overshoot going up");
}

static void test_endstop_homing(void) {
    boot();
    req("N1 CONFIG 2 home=endstop hspeed=1000");
    EXPECT("N2 HOME 2", "ok N2", "endstop home");
    CHECK(run_until("!done N2", 8000), "endstop homing done");
    CHECK(shaft[2] == 0 && mo_pos(2) == 0, "zero on the switch (shaft %ld)", shaft[2]);
    EXPECT("N3 STATUS", "homed=0,0,1,0", "only axis 2 homed");
    /* a switch that never closes (broken wire): homing fails with an alarm */
    boot();
    switch_broken = 1;
    req("N5 CONFIG 2 home=endstop hspeed=4000 accel=20000");
    req("N6 HOME 2");
    CHECK(run_until("!alarm N6 11 home-failed axes=2", 8000), "home failure reported");
    EXPECT("N7 MOVE 2:10", "err N7 6", "still unhomed");
    switch_broken = 0;
}

/* A pot whose real rotation is shorter than the configured travel, homed against its stop:
 * the far end stalls unseen (no sensor there), and on the way back the switch at the near
 * end closes while the count still says 900 steps. That must end the move with !limit (and
 * no !done at a position the shaft never reached) whatever the homing mode. */
static void test_limit_in_every_homing_mode(void) {
    for (int endstop_mode = 0; endstop_mode < 2; endstop_mode++) {
        boot();
        home_all();
        req(endstop_mode ? "N10 HOME mode=endstop 0" : "N10 HOME mode=hardstop 0");
        CHECK(run_until("!done N10", 8000), "re-home axis 0 (mode %d)", endstop_mode);
        shaft_max = 2500;
        req("N11 MOVE 0:3413");
        CHECK(run_until("!done N11 pos=3413,", 3000), "stall at the far end is not seen");
        CHECK(shaft[0] == 2500, "shaft stalled at its stop (%ld)", shaft[0]);
        since_mark();
        req("N12 MOVE 0:100");
        CHECK(run_until("!limit N12 axis=0 pos=", 3000), "limit reported (mode %d)", endstop_mode);
        run_ms(100);
        CHECK(!strstr(out, "!done N12"), "no !done after the limit (mode %d)", endstop_mode);
        int32_t p = mo_pos(0);
        CHECK(p > 800 && p < 1000, "stopped where the switch closed (%ld)", (long)p);
        EXPECT("N13 STATUS", "state=idle homed=0,1,1,1", "axis 0 un-homed, job over");
        EXPECT("N14 MOVE 1:10", "ok N14", "the robot takes the next request");
        CHECK(run_until("!done N14", 1000), "next move runs");
        shaft_max = 3413;
    }
}

/* Every err reply carries its code's text from fw.h's table, and each code means one thing
 * whichever command it answers. */
static void test_error_codes_agree(void) {
    boot();
    home_all();
    EXPECT("N1 HOME 4", "err N1 10 no such axis*", "HOME bad axis is 10");
    EXPECT("N2 MOVE 4:10", "err N2 10 no such axis*", "MOVE bad axis is 10");
    EXPECT("N3 MOVE 12:10", "err N3 10 no such axis*", "two-digit axis is 10");
    EXPECT("N4 CONFIG 7", "err N4 10 no such axis*", "CONFIG bad axis is 10");
    EXPECT("N5 MOVE 0:60001", "err N5 7 outside 0..travel*", "just above MAX_TRAVEL is 7");
    EXPECT("N6 MOVE 0:99999999999", "err N6 7 outside 0..travel*", "huge target is 7");
    EXPECT("N7 MOVE 0:60000", "err N7 7 outside 0..travel*", "MAX_TRAVEL is 7");
    EXPECT("N8 MOVE 0:1x", "err N8 4 syntax*", "junk target is 4");
    EXPECT("N9 MOVE 0:10 0:20", "err N9 4 syntax*", "an axis named twice is refused");
    EXPECT("N10 MOVE", "err N10 4 syntax*", "MOVE without targets");
    EXPECT("N11 CONFIG", "err N11 4 syntax*", "CONFIG without axis");
    EXPECT("N12 CONFIG 0 speed=fast", "err N12 4 syntax*", "junk value is 4");
    EXPECT("N13 CONFIG 0 speed=0", "err N13 12 value out of range*", "bad value is 12");
    EXPECT("N14 FROB", "err N14 5 unknown command*", "unknown");
    EXPECT("N15 ESTOP", "ok N15", "estop");
    EXPECT("N16 MOVE 0:10", "err N16 9 estop*", "latched");
    EXPECT("N017 STATUS", "ok N17 ", "leading zeros in the sequence number are read as decimal");
    EXPECT("N17 STATUS", "ok N17 ", "and N17 is then a resend of N017");
}

/* invert=1 flips the DIR level of that axis only: a motor wired the other way turns the knob
 * the right way, homing included. Changing it un-homes the axis. */
static void test_invert_direction(void) {
    boot();
    home_all();
    EXPECT("N1 CONFIG 2 invert=1", "ok N1 axis=2*", "invert accepted");
    EXPECT("N2 STATUS", "homed=1,1,0,1", "changing the direction un-homes the axis");
    EXPECT("N3 CONFIG 2 invert=2", "err N3 12", "invert is 0 or 1");
    req("N4 HOME 2");
    CHECK(run_until("!done N4", 5000), "homing with the inverted axis");
    CHECK(dir_pos[2] == 1, "homing (towards zero) drives the inverted motor's DIR high");
    req("N5 MOVE 2:100 1:100");
    CHECK(run_until("!done N5", 2000), "move");
    CHECK(dir_pos[2] == 0 && dir_pos[1] == 1, "upwards: inverted DIR low, the others high");
}

static void test_reset_command(void) {
    boot();
    int before = resets;
    EXPECT("N1 RESET", "ok N1", "reset acknowledged");
    CHECK(resets == before + 1, "hal_reset called");
}

/* Two flipped bits 127 bits apart passed the old CRC-8; a line noisy enough to lose one byte
 * in a hundred meets that about once in a thousand lines. CRC-16 must refuse every 1-, 2-
 * and 3-bit corruption of a request, and such a line must never act. */
static void test_crc16_catches_bit_errors(void) {
    const char *body = "N77 CONFIG 0 speed=4000 accel=20000 travel=1333";
    char good[128];
    int n = snprintf(good, sizeof good, "%s*%04X", body, crc16(body, (uint8_t)strlen(body)));
    int nbits = n * 8, accepted = 0, tried = 0;
    const char *r;
    boot();
    for (int i = 0; i < nbits; i++) {
        for (int j = i; j < nbits; j++) {
            /* every single flip, every pair within 300 bits (CRC-8's blind spots were 127 and
             * 254 apart), and a sample of triples */
            if (j - i > 300) break;
            for (int k = j; k < nbits; k += (k == j ? 1 : 97)) {
                if (k != j && (i + j) % 13) break;
                char bad[128];
                memcpy(bad, good, (size_t)n);
                bad[i / 8] ^= (char)(1 << (i % 8));
                if (j != i) bad[j / 8] ^= (char)(1 << (j % 8));
                if (k != j) bad[k / 8] ^= (char)(1 << (k % 8));
                bad[n] = '\n';
                out_n = out_mark = 0; /* thousands of replies: keep the capture buffer small */
                out[0] = 0;
                fw_rx_byte('\n');
                for (int b = 0; b <= n; b++) fw_rx_byte((uint8_t)bad[b]);
                fw_poll();
                /* a flipped case bit in a hex letter of the checksum leaves the request
                 * intact (either case is accepted): only a changed body must be refused */
                int body_bits = (int)strlen(body) * 8;
                if (i >= body_bits && j >= body_bits && k >= body_bits) { since_mark(); continue; }
                tried++;
                if (strstr(since_mark(), "ok N")) accepted++;
            }
        }
    }
    CHECK(accepted == 0, "%d of %d corrupted lines accepted", accepted, tried);
    CHECK(tried > 20000, "only %d corruptions tried", tried);
    /* lower-case hex letters (a flipped case bit in the checksum itself) still check out */
    r = req_lower_hex("N79 HELLO");
    CHECK(strncmp(r, "ok N79", 6) == 0, "lower-case checksum: %s", r);
}

/* A CONFIG that sets values answers in a short line (fewer bytes to lose on a noisy link);
 * a CONFIG without values reads them all back. */
static void test_config_replies(void) {
    boot();
    const char *r = req("N7 CONFIG 1 speed=3000 accel=9000 travel=1200 backlash=4 home=hardstop hspeed=500");
    CHECK(strncmp(r, "ok N7 axis=1*", 13) == 0 && strlen(r) == 18, "short write reply: %s", r);
    r = req("N8 CONFIG 1");
    CHECK(strstr(r, "ok N8 axis=1 speed=3000 accel=9000 travel=1200 backlash=4 home=hardstop hspeed=500 invert=0*"), "read back: %s", r);
    r = req("N9 CONFIG 3 speed=8000 accel=30000 travel=60000 backlash=2000 home=hardstop hspeed=8000");
    CHECK(strncmp(r, "ok N9 axis=3*", 13) == 0, "longest write: %s", r);
    EXPECT("N11 CONFIG 3 invert=1", "ok N11 axis=3*", "invert");
    r = req("N10 CONFIG 3");
    CHECK(strstr(r, "ok N10 axis=3 speed=8000 accel=30000 travel=60000 backlash=2000 home=hardstop hspeed=8000 invert=1*"), "longest read-back fits: %s", r);
}

int main(void) {
    struct { const char *name; void (*fn)(void); } tests[] = {
        {"banner_and_hello", test_banner_and_hello},
        {"bad_checksum", test_bad_checksum},
        {"overlong_line", test_overlong},
        {"rx_overrun", test_overrun},
        {"unknown_and_syntax", test_unknown_and_syntax},
        {"not_homed_and_soft_limits", test_not_homed_and_limits},
        {"repeated_sequence", test_repeated_sequence},
        {"trapezoid_profile", test_trapezoid},
        {"stop_and_estop", test_stop_estop},
        {"backlash", test_backlash},
        {"endstop_homing", test_endstop_homing},
        {"reset_command", test_reset_command},
        {"invert_direction", test_invert_direction},
        {"limit_in_every_homing_mode", test_limit_in_every_homing_mode},
        {"error_codes_agree", test_error_codes_agree},
        {"crc16_catches_bit_errors", test_crc16_catches_bit_errors},
        {"config_replies", test_config_replies},
    };
    int nt = (int)(sizeof tests / sizeof tests[0]), bad = 0;
    for (int i = 0; i < nt; i++) {
        int f0 = failures;
        tests[i].fn();
        int lines_ok = all_lines_valid();
        if (!lines_ok) { failures++; printf("  FAIL: a reply line lacks a valid checksum\n"); }
        printf("%-28s %s\n", tests[i].name, failures == f0 ? "PASS" : "FAIL");
        if (failures != f0) bad++;
    }
    printf("%d/%d tests passed, %d checks, %d failed\n", nt - bad, nt, checks, failures);
    return bad ? 1 : 0;
}
