#define _GNU_SOURCE
#include "vmotor.h"
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <pthread.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

vm_opts_t vm_opt = {
    .steps_per_rev = 4096,
    .rotation = {300, 300, 300, 300},
    .initial = {-1, -1, -1, -1},
    .seed = 1,
    .stall_axis = -1,
    .timescale = 1.0,
};
long vm_total_steps;

static long shaft[VM_AXES], limit[VM_AXES], motor[VM_AXES], axis_steps[VM_AXES];
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static int reset_fired;

/* Layout of the shaft file (little-endian; rig/knobs/shafts.py reads it):
 *   0 char[8] "RIGSHAFT" | 8 u32 version=1 | 12 u32 axes | 16 u32 seq (odd while writing)
 *  20 u32 steps_per_rev | 24 f64 degrees[4] | 56 i32 shaft_steps[4] | 72 i32 motor_steps[4] */
struct shaft_file {
    char magic[8];
    uint32_t version, axes, seq, steps_per_rev;
    double degrees[VM_AXES];
    int32_t shaft_steps[VM_AXES];
    int32_t motor_steps[VM_AXES];
};
static struct shaft_file *sf;

uint32_t vm_rand(void) { /* xorshift64*: reproducible from --seed */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * 2685821657736338717ull) >> 32);
}
static double frand(void) { return vm_rand() / 4294967296.0; }

static void list(const char *s, double *out) {
    char *end;
    for (int i = 0; i < VM_AXES && *s; i++) {
        out[i] = strtod(s, &end);
        if (*end == ',') end++;
        if (!*end) { for (int k = i + 1; k < VM_AXES; k++) out[k] = out[i]; break; }
        s = end;
    }
}

void vm_parse(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) { fprintf(stderr, "missing value for %s\n", a); exit(2); }
        if (!strcmp(a, "--steps-per-rev")) vm_opt.steps_per_rev = atoi(v);
        else if (!strcmp(a, "--rotation")) list(v, vm_opt.rotation);
        else if (!strcmp(a, "--initial")) list(v, vm_opt.initial);
        else if (!strcmp(a, "--seed")) vm_opt.seed = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--shaft-file")) vm_opt.shaft_file = v;
        else if (!strcmp(a, "--corrupt")) vm_opt.corrupt = atof(v);
        else if (!strcmp(a, "--drop")) vm_opt.drop = atof(v);
        else if (!strcmp(a, "--reset-after-steps")) vm_opt.reset_after_steps = atol(v);
        else if (!strcmp(a, "--stall")) {
            if (sscanf(v, "%d:%ld", &vm_opt.stall_axis, &vm_opt.stall_every) != 2) { fprintf(stderr, "--stall AXIS:EVERY\n"); exit(2); }
        } else if (!strcmp(a, "--timescale")) vm_opt.timescale = atof(v);
        else if (!strcmp(a, "--elf")) vm_opt.elf = v;
        else if (!strcmp(a, "--boot")) vm_opt.boot = v;
        else if (!strcmp(a, "--reversed")) { /* AXIS[,AXIS...] */
            for (const char *p = v; *p; p++)
                if (*p >= '0' && *p < '0' + VM_AXES) vm_opt.reversed[*p - '0'] = 1;
        }
        else { fprintf(stderr, "unknown option %s\n", a); exit(2); }
        i++;
    }
}

static void publish(int i) {
    if (!sf) return;
    __atomic_store_n(&sf->seq, sf->seq + 1, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    sf->shaft_steps[i] = (int32_t)shaft[i];
    sf->motor_steps[i] = (int32_t)motor[i];
    sf->degrees[i] = shaft[i] * 360.0 / vm_opt.steps_per_rev;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    __atomic_store_n(&sf->seq, sf->seq + 1, __ATOMIC_RELEASE);
}

void vm_init(void) {
    rng ^= (uint64_t)vm_opt.seed * 0xD1B54A32D192ED03ull + 1;
    for (int i = 0; i < 8; i++) vm_rand();
    if (vm_opt.shaft_file) {
        int fd = open(vm_opt.shaft_file, O_RDWR | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || ftruncate(fd, sizeof *sf) < 0) { perror(vm_opt.shaft_file); exit(2); }
        sf = mmap(NULL, sizeof *sf, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (sf == MAP_FAILED) { perror("mmap"); exit(2); }
        close(fd);
        memcpy(sf->magic, "RIGSHAFT", 8);
        sf->version = 1;
        sf->axes = VM_AXES;
        sf->steps_per_rev = (uint32_t)vm_opt.steps_per_rev;
    }
    for (int i = 0; i < VM_AXES; i++) {
        limit[i] = lround(vm_opt.rotation[i] / 360.0 * vm_opt.steps_per_rev);
        double deg = vm_opt.initial[i] >= 0 ? vm_opt.initial[i] : frand() * vm_opt.rotation[i];
        shaft[i] = lround(deg / 360.0 * vm_opt.steps_per_rev);
        if (shaft[i] > limit[i]) shaft[i] = limit[i];
        publish(i);
    }
}

void vm_step(int i, int positive) {
    if (vm_opt.reversed[i]) positive = !positive;
    vm_total_steps++;
    motor[i] += positive ? 1 : -1;
    axis_steps[i]++;
    if (i == vm_opt.stall_axis && vm_opt.stall_every > 0 && axis_steps[i] % vm_opt.stall_every == 0) {
        publish(i); /* a lost step: the rotor slipped, the shaft did not turn */
        return;
    }
    /* the pot's mechanical stops: steps past an end do not turn the shaft */
    long s = shaft[i] + (positive ? 1 : -1);
    if (s < 0) s = 0;
    if (s > limit[i]) s = limit[i];
    shaft[i] = s;
    publish(i);
}

int vm_endstop(int i) { return shaft[i] <= 0; }

int vm_filter_byte(uint8_t *c) {
    if (vm_opt.drop > 0 && frand() < vm_opt.drop) return 0;
    if (vm_opt.corrupt > 0 && frand() < vm_opt.corrupt) *c ^= (uint8_t)(1u << (vm_rand() & 7));
    return 1;
}

int vm_reset_due(void) {
    if (reset_fired || vm_opt.reset_after_steps <= 0 || vm_total_steps < vm_opt.reset_after_steps) return 0;
    reset_fired = 1;
    return 1;
}

int vm_open_pty(char *name, int len) {
    int master, slave;
    struct termios t;
    if (openpty(&master, &slave, NULL, NULL, NULL) < 0) { perror("openpty"); exit(2); }
    /* raw on the slave: no echo, no line editing, no CR/LF translation */
    tcgetattr(slave, &t);
    cfmakeraw(&t);
    tcsetattr(slave, TCSANOW, &t);
    snprintf(name, (size_t)len, "%s", ttyname(slave));
    /* keep the slave open ourselves: otherwise reads on the master fail with EIO whenever the
     * host has the port closed (between driver sessions) */
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    return master;
}

static pid_t parent_pid;

static void *watch_parent(void *arg) {
    (void)arg;
    for (;;) {
        if (getppid() != parent_pid) {
            /* the launcher is gone and cannot clean up: remove what it would have removed */
            if (vm_opt.shaft_file) {
                char dir[4096];
                snprintf(dir, sizeof dir, "%s", vm_opt.shaft_file);
                unlink(vm_opt.shaft_file);
                char *d = dirname(dir);
                if (!strncmp(basename(d), "rig-sim-", 8)) rmdir(d); /* only the launcher's temp dir */
            }
            _exit(0);
        }
        usleep(100 * 1000);
    }
    return NULL;
}

void vm_watch_parent(void) {
    const char *env = getenv("RIG_SIM_PARENT");
    parent_pid = env && *env ? (pid_t)atol(env) : getppid();
    if (getppid() != parent_pid) _exit(0); /* died before we got here */
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&at, 64 * 1024);
    if (pthread_create(&t, &at, watch_parent, NULL) != 0) perror("pthread_create");
    pthread_attr_destroy(&at);
}
