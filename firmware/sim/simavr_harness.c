/* sim://avr: the real AVR image (build/rig-fw.elf) running in simavr. UART0 is bridged to a
 * pty by libsimavrparts' uart_pty, through two filter IRQs that inject byte faults. The
 * harness plays the stepper drivers: it counts rising STEP edges with the DIR level on the
 * port pins and moves the virtual knobs of vmotor.c, which also drive the end-stop inputs.
 * Prints "PTY <path>" on stdout (never use the /tmp/simavr-uart0 symlink: parallel instances
 * fight over it). SIGUSR1 resets the MCU (reset=external); SIGTERM ends with _exit, because
 * uart_pty_stop() hangs. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "sim_avr.h"
#include "sim_elf.h"
#include "sim_io.h"
#include "sim_irq.h"
#include "avr_ioport.h"
#include "avr_uart.h"
#include "uart_pty.h"
#include "../avr/pins.h"
#include "vmotor.h"

static avr_t *avr;
static uart_pty_t pty;
static avr_irq_t *filt; /* [0] AVR -> host, [1] host -> AVR */
static avr_irq_t *uart_in, *pty_in, *endstop_irq[VM_AXES];
static int dir_level[VM_AXES], step_level[VM_AXES], endstop_state[VM_AXES];
static volatile sig_atomic_t reset_sig, quit_sig;
static int reset_steps;
static double wall0;
static avr_cycle_count_t cyc0;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Replaces simavr's raw sleep (many short usleeps that oversleep, so a 16 kHz step tick ran
 * at ~0.4x real time): sleep only while simulated time is ahead of the wall clock. */
static void pace(avr_t *a, avr_cycle_count_t how_long) {
    /* simavr calls this for every short sleep (its UART wakes it often): look at the wall
     * clock only once per simulated millisecond */
    static avr_cycle_count_t next_check;
    if (a->cycle + how_long < next_check) return;
    next_check = a->cycle + how_long + a->frequency / 1000;
    double sim = (double)(a->cycle + how_long - cyc0) / a->frequency / vm_opt.timescale;
    double ahead = sim - (now() - wall0);
    if (ahead > 0.001) usleep((useconds_t)(ahead * 1e6));
    else if (ahead < -0.25) wall0 = now() - sim; /* far behind (CPU busy): do not sprint later */
}

static void on_signal(int s) {
    if (s == SIGUSR1) reset_sig = 1;
    else quit_sig = 1;
}

static void to_host(struct avr_irq_t *irq, uint32_t v, void *p) {
    (void)irq; (void)p;
    uint8_t c = (uint8_t)v;
    if (vm_filter_byte(&c)) avr_raise_irq(pty_in, c);
}
static void to_avr(struct avr_irq_t *irq, uint32_t v, void *p) {
    (void)irq; (void)p;
    uint8_t c = (uint8_t)v;
    if (vm_filter_byte(&c)) avr_raise_irq(uart_in, c);
}

static uint8_t portb_ext = 0x0F << ENDSTOP_SHIFT;

/* Inputs are declared "external" to simavr: otherwise the firmware's pull-up writes to PORTx
 * override the level the harness drives. */
static void set_external(char port, uint8_t mask, uint8_t value) {
    avr_ioport_external_t e = {.name = (unsigned long)port, .mask = mask, .value = value};
    avr_ioctl(avr, AVR_IOCTL_IOPORT_SET_EXTERNAL(port), &e);
}

static void update_endstop(int a) {
    int active = vm_endstop(a);
    if (active != endstop_state[a]) {
        uint8_t bit = (uint8_t)(1u << (ENDSTOP_SHIFT + a));
        endstop_state[a] = active;
        portb_ext = active ? (uint8_t)(portb_ext & ~bit) : (uint8_t)(portb_ext | bit); /* active low */
        set_external('B', 0x0F << ENDSTOP_SHIFT, portb_ext);
        avr_raise_irq(endstop_irq[a], active ? 0 : 1);
    }
}

static void on_dir(struct avr_irq_t *irq, uint32_t v, void *p) { (void)irq; dir_level[(intptr_t)p] = v != 0; }

static void on_step(struct avr_irq_t *irq, uint32_t v, void *p) {
    (void)irq;
    int a = (int)(intptr_t)p;
    if (v && !step_level[a]) {
        vm_step(a, dir_level[a]);
        update_endstop(a);
        if (vm_reset_due()) reset_steps = 1;
    }
    step_level[a] = v != 0;
}

static void set_inputs(void) {
    for (int a = 0; a < VM_AXES; a++) {
        endstop_state[a] = -1;
        update_endstop(a);
    }
    /* e-stop is a normally-closed button to GND: low = not pressed */
    set_external('C', 1u << ESTOP_BIT, 0);
    avr_raise_irq(avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ('C'), ESTOP_BIT), 0);
}

int main(int argc, char **argv) {
    vm_parse(argc, argv);
    vm_watch_parent();
    if (!vm_opt.elf) { fprintf(stderr, "--elf build/rig-fw.elf is required\n"); return 2; }
    elf_firmware_t f;
    memset(&f, 0, sizeof f);
    if (elf_read_firmware(vm_opt.elf, &f) != 0) { fprintf(stderr, "cannot read %s\n", vm_opt.elf); return 2; }
    if (!f.mmcu[0]) strcpy(f.mmcu, "atmega328p");
    if (!f.frequency) f.frequency = 16000000;
    avr = avr_make_mcu_by_name(f.mmcu);
    if (!avr) { fprintf(stderr, "unknown MCU %s\n", f.mmcu); return 2; }
    avr_init(avr);
    avr_load_firmware(avr, &f);
    vm_init();

    uart_pty_init(avr, &pty);
    uart_pty_connect(&pty, '0');
    /* splice the fault filters into both directions of the bridge */
    avr_irq_t *uart_out = avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUTPUT);
    uart_in = avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_INPUT);
    pty_in = pty.irq + IRQ_UART_PTY_BYTE_IN;
    static const char *names[] = {"fault.to_host", "fault.to_avr"};
    filt = avr_alloc_irq(&avr->irq_pool, 0, 2, names);
    avr_unconnect_irq(uart_out, pty_in);
    avr_unconnect_irq(pty.irq + IRQ_UART_PTY_BYTE_OUT, uart_in);
    avr_connect_irq(uart_out, filt + 0);
    avr_connect_irq(pty.irq + IRQ_UART_PTY_BYTE_OUT, filt + 1);
    avr_irq_register_notify(filt + 0, to_host, NULL);
    avr_irq_register_notify(filt + 1, to_avr, NULL);

    for (intptr_t a = 0; a < VM_AXES; a++) {
        avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ('D'), STEP_SHIFT + a), on_step, (void *)a);
        avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ('C'), a), on_dir, (void *)a);
        endstop_irq[a] = avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ('B'), ENDSTOP_SHIFT + a);
    }
    set_inputs();

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    printf("PTY %s\n", pty.port[0].slavename);
    printf("SHAFTS %s\n", vm_opt.shaft_file ? vm_opt.shaft_file : "-");
    fflush(stdout);

    avr->sleep = pace;
    wall0 = now();
    cyc0 = avr->cycle;
    for (;;) {
        int st = avr_run(avr);
        if (st == cpu_Done || st == cpu_Crashed) {
            fprintf(stderr, "simavr: MCU %s\n", st == cpu_Done ? "stopped" : "crashed");
            fflush(stderr);
            _exit(3);
        }
        if (quit_sig) _exit(0);
        if (reset_sig || reset_steps) {
            reset_sig = reset_steps = 0;
            avr_reset(avr);
            wall0 = now();
            cyc0 = avr->cycle; /* simavr may restart its cycle count */
            /* simavr's reset leaves MCUSR as the power-on default; say it was the reset pin */
            avr_regbit_clear(avr, avr->reset_flags.porf);
            avr_regbit_set(avr, avr->reset_flags.extrf);
            for (int a = 0; a < VM_AXES; a++) step_level[a] = 0;
            set_inputs();
        }
    }
}
