/* Virtual knobs shared by both simulators (native and simavr): stepper drivers that follow
 * STEP/DIR, pots with mechanical stops, the published shaft-angle file, fault injection. */
#ifndef RIG_VMOTOR_H
#define RIG_VMOTOR_H
#include <stdint.h>

#define VM_AXES 4

typedef struct {
    int steps_per_rev;
    double rotation[VM_AXES];   /* mechanical rotation of each pot, degrees */
    double initial[VM_AXES];    /* starting angle; < 0 = random (seeded) */
    unsigned seed;
    const char *shaft_file;
    double corrupt, drop;       /* fraction of UART bytes corrupted / dropped, both directions */
    long reset_after_steps;     /* reset the MCU once after this many steps in total (0 = never) */
    int stall_axis;             /* -1 = none */
    long stall_every;           /* lose every Nth step on stall_axis */
    double timescale;           /* native only: virtual seconds per wall second */
    int reversed[VM_AXES];      /* 1: that motor is wired to turn the other way (DIR high = CCW) */
    const char *elf;            /* simavr only */
    const char *boot;           /* simavr only: bootloader .hex; opening the port resets into it */
} vm_opts_t;

extern vm_opts_t vm_opt;
extern long vm_total_steps;

/* Parses the shared options; returns the index of the first unknown argument or argc. */
void vm_parse(int argc, char **argv);
void vm_init(void);
void vm_step(int axis, int positive);
int vm_endstop(int axis);          /* switch closes when the shaft rests on its CCW stop */
int vm_filter_byte(uint8_t *c);    /* fault injection: 0 = drop the byte */
int vm_reset_due(void);            /* one-shot: the --reset-after-steps point was passed */
uint32_t vm_rand(void);
int vm_open_pty(char *name, int len);  /* raw pty; returns the master fd */
/* Exit when the launching process dies (even by SIGKILL), so simulators never pile up as
 * orphans: a thread polls getppid() against $RIG_SIM_PARENT (else the parent at start) and
 * removes the shaft file on the way out. Polling, not PR_SET_PDEATHSIG: that signal fires
 * when the launching *thread* ends, which would kill a simulator opened from a worker. */
void vm_watch_parent(void);

#endif
