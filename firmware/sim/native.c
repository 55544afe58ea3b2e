/* sim://native: the firmware core compiled for the host, stepped in virtual time against the
 * virtual knobs of vmotor.c, talking over a pty. `--timescale 20` runs virtual time 20x faster
 * than the wall clock. SIGUSR1 resets the MCU (reset=external); SIGTERM ends. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "../core/config.h"
#include "../core/fw.h"
#include "../core/hal.h"
#include "../core/motion.h"
#include "vmotor.h"

static uint8_t outbuf[1 << 16];
static size_t out_n;
static int dir_pos[AXES], timer_on, estop_btn;
static volatile sig_atomic_t reset_sig, quit_sig, estop_sig;
static const char *reset_cause;

void hal_uart_write(const char *s, uint8_t n) {
    for (uint8_t i = 0; i < n && out_n < sizeof outbuf; i++) {
        uint8_t c = (uint8_t)s[i];
        if (vm_filter_byte(&c)) outbuf[out_n++] = c;
    }
}
void hal_set_dir(uint8_t a, uint8_t p) { dir_pos[a] = p; }
void hal_enable(uint8_t on) { (void)on; }
uint8_t hal_endstop(uint8_t a) { return (uint8_t)vm_endstop(a); }
uint8_t hal_estop_input(void) { return (uint8_t)estop_btn; }
void hal_motion_start(void) { timer_on = 1; }
void hal_reset(void) { reset_cause = "watchdog"; }

static void on_signal(int s) {
    if (s == SIGUSR1) reset_sig = 1;
    else if (s == SIGUSR2) estop_sig = 1;
    else quit_sig = 1;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void flush_out(int fd) {
    while (out_n) {
        ssize_t w = write(fd, outbuf, out_n);
        if (w <= 0) return; /* host not reading: keep it for later */
        memmove(outbuf, outbuf + w, out_n - (size_t)w);
        out_n -= (size_t)w;
    }
}

int main(int argc, char **argv) {
    char name[128];
    vm_parse(argc, argv);
    vm_watch_parent();
    if (vm_opt.timescale <= 0) vm_opt.timescale = 1;
    vm_init();
    int fd = vm_open_pty(name, sizeof name);
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    printf("PTY %s\n", name);
    printf("SHAFTS %s\n", vm_opt.shaft_file ? vm_opt.shaft_file : "-");
    fflush(stdout);

    fw_init("power");
    const double ticks_per_wall_s = TICK_HZ * vm_opt.timescale;
    double wall0 = now();
    uint64_t vt = 0; /* virtual time in ticks */
    while (!quit_sig) {
        if (reset_sig || vm_reset_due()) {
            reset_sig = 0;
            reset_cause = "external";
        }
        if (estop_sig) { estop_sig = 0; estop_btn = !estop_btn; } /* SIGUSR2 toggles the button */
        if (reset_cause) {
            flush_out(fd);
            timer_on = 0;
            fw_init(reset_cause); /* RAM state lost; the shafts stay where they are */
            reset_cause = NULL;
        }
        uint8_t buf[256];
        ssize_t n = read(fd, buf, sizeof buf);
        for (ssize_t i = 0; i < n; i++) {
            uint8_t c = buf[i];
            if (vm_filter_byte(&c)) fw_rx_byte(c);
            if ((i & 31) == 31) fw_poll(); /* the AVR main loop drains the ring as bytes arrive */
        }
        fw_poll();
        uint64_t target = (uint64_t)((now() - wall0) * ticks_per_wall_s);
        if (timer_on) {
            /* catch up with the wall clock, at most 50 ms of virtual time per round so the
             * pty stays responsive */
            uint64_t lim = vt + TICK_HZ / 20;
            if (target > lim) { wall0 += (double)(target - lim) / ticks_per_wall_s; target = lim; }
            while (vt < target && timer_on && !reset_sig) {
                uint8_t m = mo_tick();
                vt++;
                for (int a = 0; a < AXES; a++)
                    if (m & (1 << a)) vm_step(a, dir_pos[a]);
                fw_poll();
                if (vm_reset_due()) { reset_cause = "external"; break; }
                if (!mo_moving() && fw_idle()) timer_on = 0;
            }
        } else {
            vt = target; /* idle: nothing depends on time */
        }
        flush_out(fd);
        struct pollfd p = {fd, POLLIN, 0};
        if (out_n) p.events |= POLLOUT;
        poll(&p, 1, timer_on ? 1 : 20);
    }
    flush_out(fd);
    /* exit without closing the pty slowly: nothing to clean up but the shaft file, which
     * the launcher owns */
    _exit(0);
}
