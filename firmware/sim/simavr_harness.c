/* sim://avr: the real AVR image (build/rig-fw.elf) running in simavr. UART0 is bridged to a
 * pty by libsimavrparts' uart_pty, through two filter IRQs that inject byte faults. The
 * harness plays the stepper drivers: it counts rising STEP edges with the DIR level on the
 * port pins and moves the virtual knobs of vmotor.c, which also drive the end-stop inputs.
 * Prints "PTY <path>" on stdout (never use the /tmp/simavr-uart0 symlink: parallel instances
 * fight over it). SIGUSR1 resets the MCU (reset=external); SIGTERM ends with _exit, because
 * uart_pty_stop() hangs.
 * `--boot optiboot_atmega328.hex` plays an Arduino board instead: the bootloader sits at the
 * top of flash and runs after every reset, the application flash starts erased unless --elf
 * preloads it, and opening the pty resets the MCU the way the DTR line does through the
 * board's auto-reset capacitor (a pty has no DTR, so the open is seen with inotify). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <termios.h>
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

/* Writes an Intel HEX image into flash; returns its lowest address. Our own reader: simavr's
 * refuses record type 03, which the Arduino bootloaders carry. */
static uint32_t load_hex(const char *hex) {
    FILE *f = fopen(hex, "r");
    if (!f) { perror(hex); exit(2); }
    char rec[600];
    uint32_t base = 0, lowest = UINT32_MAX;
    while (fgets(rec, sizeof rec, f)) {
        unsigned n, addr, type, b;
        if (rec[0] != ':' || sscanf(rec + 1, "%2x%4x%2x", &n, &addr, &type) != 3) continue;
        const char *d = rec + 9;
        if (type == 0x02 || type == 0x04) {
            unsigned hi = 0; /* a malformed record: base 0 rather than garbage */
            sscanf(d, "%4x", &hi);
            base = type == 0x02 ? hi << 4 : hi << 16;
        } else if (type == 0x00) {
            for (unsigned k = 0; k < n && sscanf(d + 2 * k, "%2x", &b) == 1; k++) {
                uint32_t at = base + addr + k;
                if (at > avr->flashend) continue; /* Debian's optiboot hex has 4 stray bytes at 0x8010 */
                avr->flash[at] = (uint8_t)b;
                if (at < lowest) lowest = at;
            }
        }
    }
    fclose(f);
    if (lowest == UINT32_MAX) { fprintf(stderr, "no data in %s\n", hex); exit(2); }
    return lowest;
}

/* The bootloader runs after every reset (the BOOTRST fuse of an Arduino). */
static void load_bootloader(const char *hex) {
    avr->reset_pc = load_hex(hex);
    avr->pc = avr->reset_pc;
}

/* Board auto-reset: the first open of the pty by another program resets the MCU. */
static int port_watch = -1;
static int port_opened(void) {
    static unsigned calls;
    if (port_watch < 0 || (++calls & 4095)) return 0;
    char buf[sizeof(struct inotify_event) + 64];
    int opened = 0;
    ssize_t n;
    while ((n = read(port_watch, buf, sizeof buf)) > 0)
        for (char *q = buf; q < buf + n; q += sizeof(struct inotify_event) + ((struct inotify_event *)q)->len)
            if (((struct inotify_event *)q)->mask & IN_OPEN) opened = 1;
    return opened;
}

/* A real UART has no flow control: what the last program sent while nobody read it was lost
 * long ago. simavr's bridge holds it back (XON/XOFF) and would feed it to the bootloader after
 * the reset, so drop it, as the board would have. */
static void drop_pending_input(void) {
    tcflush(pty.port[0].s, TCIFLUSH);
    pty.port[0].out.read = pty.port[0].out.write; /* the consumer side: what a read would do */
    pty.port[0].buffer_done = pty.port[0].buffer_len;
}

static void make_mcu(void) {
    elf_firmware_t f;
    memset(&f, 0, sizeof f);
    if (vm_opt.elf && elf_read_firmware(vm_opt.elf, &f) != 0) { fprintf(stderr, "cannot read %s\n", vm_opt.elf); exit(2); }
    if (!f.mmcu[0]) strcpy(f.mmcu, "atmega328p");
    if (!f.frequency) f.frequency = 16000000;
    avr = avr_make_mcu_by_name(f.mmcu);
    if (!avr) { fprintf(stderr, "unknown MCU %s\n", f.mmcu); exit(2); }
    avr_init(avr);
    avr->frequency = f.frequency;
    if (vm_opt.elf) avr_load_firmware(avr, &f);
    if (vm_opt.boot) {
        load_bootloader(vm_opt.boot);
        avr_regbit_clear(avr, avr->reset_flags.porf);
        avr_regbit_set(avr, avr->reset_flags.extrf); /* as if just reset: the bootloader listens first */
    }
}

int main(int argc, char **argv) {
    vm_parse(argc, argv);
    vm_watch_parent();
    if (!vm_opt.elf && !vm_opt.boot) { fprintf(stderr, "--elf build/rig-fw.elf or --boot BOOTLOADER.hex is required\n"); return 2; }
    make_mcu();
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
    if (vm_opt.boot) {
        port_watch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (port_watch < 0 || inotify_add_watch(port_watch, pty.port[0].slavename, IN_OPEN) < 0) {
            perror("inotify");
            return 2;
        }
    }
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
        if (port_opened()) {
            drop_pending_input();
            reset_sig = 1;
        }
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
