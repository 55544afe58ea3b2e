#include "fw.h"
#include "config.h"
#include "crc16.h"
#include "hal.h"
#include "motion.h"

/* ---- per-axis configuration (RAM only: after a reset the host configures again) ---- */
typedef struct {
    uint16_t speed, accel, hspeed, backlash;
    int32_t travel;
    uint8_t endstop; /* homing mode: 0 hardstop, 1 endstop */
    uint8_t invert;  /* 1: the motor turns the other way (DIR level flipped) */
} axcfg_t;

static axcfg_t cfg[AXES];
static uint8_t homed, estop;

/* ---- receive ring, filled by the UART interrupt ---- */
static volatile uint8_t rx_buf[RX_RING];
static volatile uint8_t rx_head, rx_tail, rx_over;

static char line[MAXLINE + 1];
static uint8_t line_len, line_err;

/* ---- replies ---- */
typedef struct { char b[OUT_MAX]; uint8_t n; } out_t;
static out_t rep, cached, asy;
static uint16_t last_seq;
static uint8_t have_last, cache_it;

/* ---- the job in progress: one MOVE or HOME at a time ---- */
enum { J_NONE, J_MOVE, J_HOME };
enum { P_IDLE, P_PRE, P_FINAL, P_PUSH, P_SEEK1, P_FREE, P_BACKOFF, P_SEEK2 };
static uint8_t job, job_pending, job_failed;
static uint16_t job_seq;
static uint8_t ax_phase[AXES];
static int32_t ax_final[AXES];

#define BACKOFF_STEPS 32
#define ENDSTOP_TOL 16 /* an endstop seen farther than this from zero during a move = limit hit */

/* ---------------- small string builder (no printf: saves flash on the AVR) ---------------- */
static void put_c(out_t *o, char c) { if (o->n < OUT_MAX - 6) o->b[o->n++] = c; } /* room for "*HHHH\n" */
static void put_s(out_t *o, const char *s) { /* s lives in flash on the AVR */
    for (char c; (c = (char)FCHAR(s)) != 0; s++) put_c(o, c);
}
static void put_i(out_t *o, int32_t v) {
    char t[12];
    uint8_t k = 0;
    uint32_t u = v < 0 ? (uint32_t)-v : (uint32_t)v;
    if (v < 0) put_c(o, '-');
    do { t[k++] = (char)('0' + u % 10); u /= 10; } while (u);
    while (k) put_c(o, t[--k]);
}
static void put_seq(out_t *o, int32_t seq) {
    put_s(o, FSTR(" N"));
    if (seq < 0) put_c(o, '?'); else put_i(o, seq);
}
/* Every line but the banner starts "<tag> N<seq>": ok, err, !done, !alarm, !limit. */
static void begin(out_t *o, const char *tag, int32_t seq) {
    o->n = 0;
    put_s(o, tag);
    put_seq(o, seq);
}
/* The text of an error code, from fw.h's table (the one place codes and texts are written). */
static const char *err_text(uint8_t code) {
    switch (code) {
#define FW_ERROR_CASE(c, name, text) case c: return FSTR(text);
    FW_ERRORS(FW_ERROR_CASE)
#undef FW_ERROR_CASE
    }
    return FSTR("?");
}
/* " <code> <text>": the tail of an err reply and of an !alarm */
static void put_code(out_t *o, uint8_t code) {
    put_c(o, ' ');
    put_i(o, code);
    put_c(o, ' ');
    put_s(o, err_text(code));
}
static void reply_ok(int32_t seq) { begin(&rep, FSTR("ok"), seq); }
static void reply_err(int32_t seq, uint8_t code) {
    begin(&rep, FSTR("err"), seq);
    put_code(&rep, code);
}
static const char HEX[] = "0123456789ABCDEF";
static void send(out_t *o) { /* append "*HHHH\n" and transmit */
    uint16_t c = crc16(o->b, o->n);
    o->b[o->n++] = '*';
    for (int8_t sh = 12; sh >= 0; sh -= 4) o->b[o->n++] = HEX[(c >> sh) & 15];
    o->b[o->n++] = '\n';
    hal_uart_write(o->b, o->n);
}
static void list_pos(out_t *o) {
    put_s(o, FSTR(" pos="));
    for (uint8_t i = 0; i < AXES; i++) { if (i) put_c(o, ','); put_i(o, mo_pos(i)); }
}
static void list_homed(out_t *o) {
    put_s(o, FSTR(" homed="));
    for (uint8_t i = 0; i < AXES; i++) { if (i) put_c(o, ','); put_c(o, (homed >> i) & 1 ? '1' : '0'); }
}

/* ---------------- init ---------------- */
void fw_init(const char *reset_cause) {
    for (uint8_t i = 0; i < AXES; i++) {
        cfg[i].speed = 1000;
        cfg[i].accel = 2000;
        cfg[i].hspeed = 400;
        cfg[i].backlash = 0;
        cfg[i].travel = 3413; /* 300 degrees at 4096 steps/rev */
        cfg[i].endstop = 0;
        cfg[i].invert = 0;
        ax_phase[i] = P_IDLE;
    }
    homed = estop = 0;
    rx_head = rx_tail = rx_over = 0;
    line_len = line_err = 0;
    have_last = 0;
    job = J_NONE;
    mo_init();
    hal_enable(0);
    asy.n = 0;
    put_s(&asy, FSTR(FW_NAME " " FW_VERSION " axes="));
    put_i(&asy, AXES);
    put_s(&asy, FSTR(" reset="));
    put_s(&asy, reset_cause);
    put_s(&asy, FSTR(" homed=0"));
    send(&asy);
}

/* ---------------- receive path ---------------- */
void fw_rx_byte(uint8_t c) {
    uint8_t n = (uint8_t)((rx_head + 1) & (RX_RING - 1));
    if (n == rx_tail) { rx_over = 1; return; }
    rx_buf[rx_head] = c;
    rx_head = n;
}
void fw_rx_overrun(void) { rx_over = 1; }

/* ---------------- parsing helpers ---------------- */
static uint8_t streq(const char *a, const char *b) { /* b lives in flash on the AVR */
    while (*a && *a == (char)FCHAR(b)) { a++; b++; }
    return *a == (char)FCHAR(b);
}
/* Parse a decimal into [lo, hi]. Returns 0, E_SYNTAX for anything that is not a number, or
 * range_err for a number outside the range: a well-formed but wrong value is never called a
 * syntax error. Huge numbers saturate instead of overflowing. */
static uint8_t parse_num(const char *s, int32_t lo, int32_t hi, uint8_t range_err, int32_t *out) {
    int32_t v = 0;
    uint8_t neg = 0, any = 0;
    if (*s == '-') { neg = 1; s++; }
    while (*s >= '0' && *s <= '9') {
        if (v <= 10000000L) v = v * 10 + (*s - '0');
        s++;
        any = 1;
    }
    if (!any || *s) return E_SYNTAX;
    if (neg) v = -v;
    if (v < lo || v > hi) return range_err;
    *out = v;
    return 0;
}
static uint8_t parse_axis(const char *s, uint8_t *ax) {
    int32_t v = 0;
    uint8_t e = parse_num(s, 0, AXES - 1, E_AXIS, &v);
    *ax = (uint8_t)v;
    return e;
}
static int8_t hexval(char c) {
    if (c >= '0' && c <= '9') return (int8_t)(c - '0');
    if (c >= 'A' && c <= 'F') return (int8_t)(c - 'A' + 10);
    if (c >= 'a' && c <= 'f') return (int8_t)(c - 'a' + 10);
    return -1;
}

/* ---------------- jobs ---------------- */
static void start_job(uint8_t kind, uint16_t seq, uint8_t axes) {
    job = kind;
    job_seq = seq;
    job_pending = axes;
    job_failed = 0;
    hal_enable(1);
}

static void finish_job(void) {
    send(&asy);
    job = J_NONE;
    job_pending = 0;
}

static void end_job(void) {
    if (job_failed) {
        begin(&asy, FSTR("!alarm"), job_seq);
        put_code(&asy, E_HOME_FAILED);
        put_s(&asy, FSTR(" axes="));
        for (uint8_t i = 0; i < AXES; i++)
            if (job_failed & (1u << i)) put_c(&asy, (char)('0' + i));
    } else {
        begin(&asy, FSTR("!done"), job_seq);
        list_pos(&asy);
    }
    finish_job();
}

static void abort_job(uint8_t code) {
    if (job == J_NONE) return;
    begin(&asy, FSTR("!alarm"), job_seq);
    put_code(&asy, code);
    list_pos(&asy);
    finish_job();
    for (uint8_t i = 0; i < AXES; i++) ax_phase[i] = P_IDLE;
}

static void home_axis(uint8_t i) {
    axcfg_t *c = &cfg[i];
    homed &= (uint8_t)~(1u << i);
    if (c->endstop) {
        /* seek the switch from wherever we are: allow a bit more than the full travel */
        mo_set_pos(i, 0);
        ax_phase[i] = P_SEEK1;
        mo_start(i, -(c->travel + c->travel / 8 + BACKOFF_STEPS), c->hspeed, c->accel, SEEK_HIT);
    } else {
        /* turn CCW past the full rotation against the pot's own stop; the surplus steps
         * are lost in the stop (that is the point), then call it zero */
        int32_t over = c->travel + c->travel / 16 + BACKOFF_STEPS;
        mo_set_pos(i, over);
        ax_phase[i] = P_PUSH;
        mo_start(i, 0, c->hspeed, c->accel, SEEK_NONE);
    }
}

/* Advance one axis whose segment just ended; returns 1 when the axis is finished. */
static uint8_t step_axis(uint8_t i, uint8_t hit) {
    axcfg_t *c = &cfg[i];
    uint8_t bit = (uint8_t)(1u << i);
    switch (ax_phase[i]) {
    case P_PRE:
        ax_phase[i] = P_FINAL;
        mo_start(i, ax_final[i], c->speed, c->accel, SEEK_NONE);
        return 0;
    case P_PUSH:
        mo_set_pos(i, 0);
        homed |= bit;
        break;
    case P_SEEK1:
        if (!hit) { job_failed |= bit; break; }
        ax_phase[i] = P_FREE;
        mo_start(i, mo_pos(i) + c->travel, c->hspeed, c->accel, SEEK_FREE);
        return 0;
    case P_FREE:
        if (!hit) { job_failed |= bit; break; }
        ax_phase[i] = P_BACKOFF;
        mo_start(i, mo_pos(i) + BACKOFF_STEPS, c->hspeed, c->accel, SEEK_NONE);
        return 0;
    case P_BACKOFF: {
        uint16_t slow = c->hspeed / 4 ? c->hspeed / 4 : 1;
        ax_phase[i] = P_SEEK2;
        mo_start(i, mo_pos(i) - 4 * BACKOFF_STEPS, slow, c->accel, SEEK_HIT);
        return 0;
    }
    case P_SEEK2:
        if (!hit) { job_failed |= bit; break; }
        mo_set_pos(i, 0);
        homed |= bit;
        break;
    default:
        break;
    }
    ax_phase[i] = P_IDLE;
    return 1;
}


static void do_estop(void) {
    mo_halt();
    hal_enable(0);
    estop = 1;
    homed = 0; /* drivers off: the shafts may be turned by hand, positions are unknown */
    abort_job(E_ESTOP);
}

/* A closed end-stop far from zero during a move means the shaft is not where the count says
 * (a travel longer than the pot's rotation, a lost step): stop everything and say which axis.
 * Read in every homing mode: with no switch wired the pulled-up input reads open. */
static uint8_t limit_hit(void) {
    for (uint8_t i = 0; i < AXES; i++) {
        if (!((job_pending >> i) & 1) || !hal_endstop(i) || mo_pos(i) <= ENDSTOP_TOL) continue;
        mo_halt();
        homed &= (uint8_t)~(1u << i);
        begin(&asy, FSTR("!limit"), job_seq);
        put_s(&asy, FSTR(" axis="));
        put_i(&asy, i);
        list_pos(&asy);
        finish_job();
        for (uint8_t k = 0; k < AXES; k++) ax_phase[k] = P_IDLE;
        return 1;
    }
    return 0;
}

static void service_motion(void) {
    uint8_t s = crit_enter();
    uint8_t done = mo_done, hit = mo_hit;
    mo_done = 0;
    mo_hit = 0;
    crit_exit(s);
    if (job == J_NONE) return;
    for (uint8_t i = 0; i < AXES; i++) {
        uint8_t bit = (uint8_t)(1u << i);
        if ((done & bit) && (job_pending & bit) && step_axis(i, hit & bit)) job_pending &= (uint8_t)~bit;
    }
    if (job == J_MOVE && limit_hit()) return;
    if (!job_pending) end_job();
}

/* ---------------- commands ---------------- */
#define MAXTOK 9
static char *tok[MAXTOK];
static uint8_t ntok;

static uint8_t refuse_motion(uint16_t seq) { /* MOVE and HOME need a free, unlatched robot */
    if (estop) reply_err(seq, E_ESTOP);
    else if (job != J_NONE || mo_moving()) reply_err(seq, E_BUSY);
    else return 0;
    return 1;
}

static void cmd_hello(uint16_t seq) {
    reply_ok(seq);
    put_s(&rep, FSTR(" " FW_NAME " " FW_VERSION " axes="));
    put_i(&rep, AXES);
    put_s(&rep, FSTR(" maxrate="));
    put_i(&rep, MAX_RATE);
    put_s(&rep, FSTR(" maxaccel="));
    put_i(&rep, MAX_ACCEL);
    put_s(&rep, FSTR(" maxtravel="));
    put_i(&rep, MAX_TRAVEL);
    list_homed(&rep);
}

static void cmd_status(uint16_t seq) {
    reply_ok(seq);
    put_s(&rep, FSTR(" state="));
    put_s(&rep, estop ? FSTR("estop") : job == J_HOME ? FSTR("homing") : (job == J_MOVE || mo_moving()) ? FSTR("moving") : FSTR("idle"));
    list_homed(&rep);
    list_pos(&rep);
}

/* Reads "axis:steps" tokens into tgt; returns 0 or the error code of the first bad one. */
static uint8_t move_targets(int32_t *tgt, uint8_t *mask) {
    if (ntok < 2) return E_SYNTAX;
    for (uint8_t k = 1; k < ntok; k++) {
        char *s = tok[k], *v = s;
        uint8_t ax, e;
        while (*v && *v != ':') v++;
        if (!*v) return E_SYNTAX;
        *v++ = 0;
        if ((e = parse_axis(s, &ax)) != 0) return e;
        if ((*mask >> ax) & 1) return E_SYNTAX; /* an axis named twice: which target was meant? */
        e = parse_num(v, 0, cfg[ax].travel, E_LIMIT, &tgt[ax]);
        if (e == E_SYNTAX) return e;
        if (!((homed >> ax) & 1)) return E_NOT_HOMED;
        if (e) return e;
        *mask |= (uint8_t)(1u << ax);
    }
    return 0;
}

static void cmd_move(uint16_t seq) {
    int32_t tgt[AXES];
    uint8_t mask = 0, e;
    if (refuse_motion(seq)) return;
    if ((e = move_targets(tgt, &mask)) != 0) return reply_err(seq, e);
    start_job(J_MOVE, seq, mask);
    for (uint8_t i = 0; i < AXES; i++) {
        if (!(mask & (1u << i))) continue;
        int32_t from = mo_pos(i);
        ax_final[i] = tgt[i];
        if (cfg[i].backlash && tgt[i] < from) {
            /* final approach always from below: overshoot, then come back up */
            int32_t pre = tgt[i] - cfg[i].backlash;
            ax_phase[i] = P_PRE;
            mo_start(i, pre < 0 ? 0 : pre, cfg[i].speed, cfg[i].accel, SEEK_NONE);
        } else {
            ax_phase[i] = P_FINAL;
            mo_start(i, tgt[i], cfg[i].speed, cfg[i].accel, SEEK_NONE);
        }
    }
    reply_ok(seq);
}

static void cmd_home(uint16_t seq) {
    uint8_t mask = 0;
    int8_t mode = -1;
    if (refuse_motion(seq)) return;
    for (uint8_t k = 1; k < ntok; k++) {
        uint8_t ax, e;
        if (streq(tok[k], FSTR("mode=hardstop"))) mode = 0;
        else if (streq(tok[k], FSTR("mode=endstop"))) mode = 1;
        else if ((e = parse_axis(tok[k], &ax)) != 0) return reply_err(seq, e);
        else mask |= (uint8_t)(1u << ax);
    }
    if (!mask) mask = (1u << AXES) - 1;
    start_job(J_HOME, seq, mask);
    for (uint8_t i = 0; i < AXES; i++) {
        if (!(mask & (1u << i))) continue;
        if (mode >= 0) cfg[i].endstop = (uint8_t)mode;
        home_axis(i);
    }
    reply_ok(seq);
}

/* Applies "key=value" tokens to c; returns 0 or the error code of the first bad one. */
static uint8_t config_values(axcfg_t *c) {
    for (uint8_t k = 2; k < ntok; k++) {
        char *s = tok[k], *v = s;
        int32_t n = 0;
        uint8_t e;
        while (*v && *v != '=') v++;
        if (!*v) return E_SYNTAX;
        *v++ = 0;
        if (streq(s, FSTR("home"))) {
            if (streq(v, FSTR("hardstop"))) c->endstop = 0;
            else if (streq(v, FSTR("endstop"))) c->endstop = 1;
            else return E_VALUE;
            continue;
        }
        if (streq(s, FSTR("speed"))) { e = parse_num(v, 1, MAX_RATE, E_VALUE, &n); c->speed = (uint16_t)n; }
        else if (streq(s, FSTR("hspeed"))) { e = parse_num(v, 1, MAX_RATE, E_VALUE, &n); c->hspeed = (uint16_t)n; }
        else if (streq(s, FSTR("accel"))) { e = parse_num(v, 1, MAX_ACCEL, E_VALUE, &n); c->accel = (uint16_t)n; }
        else if (streq(s, FSTR("travel"))) { e = parse_num(v, 1, MAX_TRAVEL, E_VALUE, &n); c->travel = n; }
        else if (streq(s, FSTR("backlash"))) { e = parse_num(v, 0, MAX_BACKLASH, E_VALUE, &n); c->backlash = (uint16_t)n; }
        else if (streq(s, FSTR("invert"))) { e = parse_num(v, 0, 1, E_VALUE, &n); c->invert = (uint8_t)n; }
        else return E_SYNTAX;
        if (e) return e;
    }
    return 0;
}

static void cmd_config(uint16_t seq) {
    uint8_t ax, e;
    if (ntok < 2) return reply_err(seq, E_SYNTAX);
    if ((e = parse_axis(tok[1], &ax)) != 0) return reply_err(seq, e);
    axcfg_t c = cfg[ax];
    if ((e = config_values(&c)) != 0) return reply_err(seq, e);
    if (ntok > 2) {
        if (job != J_NONE || mo_moving()) return reply_err(seq, E_BUSY);
        if (c.travel != cfg[ax].travel || c.endstop != cfg[ax].endstop || c.invert != cfg[ax].invert)
            homed &= (uint8_t)~(1u << ax);
        cfg[ax] = c;
        mo_invert = (uint8_t)((mo_invert & ~(1u << ax)) | (c.invert << ax));
    }
    reply_ok(seq);
    put_s(&rep, FSTR(" axis="));
    put_i(&rep, ax);
    /* a write is acknowledged in a short line: on a noisy link every byte of a reply is a
     * chance to lose it, and the request's own CRC already vouches for the values */
    if (ntok > 2) return;
    put_s(&rep, FSTR(" speed="));
    put_i(&rep, c.speed);
    put_s(&rep, FSTR(" accel="));
    put_i(&rep, c.accel);
    put_s(&rep, FSTR(" travel="));
    put_i(&rep, c.travel);
    put_s(&rep, FSTR(" backlash="));
    put_i(&rep, c.backlash);
    put_s(&rep, c.endstop ? FSTR(" home=endstop") : FSTR(" home=hardstop"));
    put_s(&rep, FSTR(" hspeed="));
    put_i(&rep, c.hspeed);
    put_s(&rep, c.invert ? FSTR(" invert=1") : FSTR(" invert=0"));
}

static void cmd_stop(uint16_t seq) {
    mo_stop_decel();
    for (uint8_t i = 0; i < AXES; i++)
        if (ax_phase[i] == P_PRE) ax_phase[i] = P_FINAL; /* no second segment after a stop */
    if (job == J_HOME) {
        /* an interrupted homing leaves those axes unhomed */
        homed &= (uint8_t)~job_pending;
        for (uint8_t i = 0; i < AXES; i++)
            if (job_pending & (1u << i)) ax_phase[i] = P_IDLE;
    }
    reply_ok(seq);
}

static void cmd_estop(uint16_t seq) {
    do_estop();
    reply_ok(seq);
}

static void cmd_clear(uint16_t seq) {
    if (hal_estop_input()) return reply_err(seq, E_ESTOP); /* the button is still pressed */
    estop = 0;
    reply_ok(seq);
}

static void cmd_reset(uint16_t seq) {
    reply_ok(seq);
    send(&rep);
    hal_reset();
    rep.n = 0xFF; /* sent already, and never cached: the reset clears the cache */
}

/* Checks "...*HHHH" and splits the body into tok[]; returns the sequence number, or -1 after
 * answering an untrusted line with `err N?`. */
static int32_t split_line(uint8_t n) {
    uint16_t want = 0;
    if (n < 6 || line[n - 5] != '*') return reply_err(-1, E_CHECKSUM), -1;
    for (uint8_t k = n - 4; k < n; k++) {
        int8_t h = hexval(line[k]);
        if (h < 0) return reply_err(-1, E_CHECKSUM), -1;
        want = (uint16_t)(want << 4 | (uint8_t)h);
    }
    if (crc16(line, n - 5) != want) return reply_err(-1, E_CHECKSUM), -1;
    line[n - 5] = 0;
    ntok = 0;
    for (char *p = line; *p && ntok < MAXTOK;) {
        while (*p == ' ') *p++ = 0;
        if (!*p) break;
        tok[ntok++] = p;
        while (*p && *p != ' ') p++;
    }
    int32_t seq;
    if (ntok < 2 || tok[0][0] != 'N' || parse_num(tok[0] + 1, 0, 65535, E_SYNTAX, &seq))
        return reply_err(-1, E_SYNTAX), -1;
    ntok--; /* drop the sequence token */
    for (uint8_t k = 0; k < ntok; k++) tok[k] = tok[k + 1];
    return seq;
}

static void handle_line(uint8_t n) {
    int32_t seq = split_line(n);
    if (seq < 0) return;
    if (have_last && (uint16_t)seq == last_seq) { /* a resend: same answer, no second action */
        hal_uart_write(cached.b, cached.n);
        rep.n = 0xFF;
        return;
    }
    rep.n = 0;
#define FW_DISPATCH(name, handler) if (streq(tok[0], FSTR(#name))) handler((uint16_t)seq); else
    FW_COMMANDS(FW_DISPATCH) reply_err(seq, E_UNKNOWN);
#undef FW_DISPATCH
    if (rep.n == 0xFF) return;
    last_seq = (uint16_t)seq; /* errors are cached too: a resend must not act either */
    have_last = 1;
    cache_it = 1;
}

void fw_poll(void) {
    if (rx_over) {
        /* bytes were lost: everything buffered is suspect, drop it and the current line */
        uint8_t s = crit_enter();
        rx_over = 0;
        rx_tail = rx_head;
        crit_exit(s);
        /* answer now (the newline may be among the lost bytes); the tail of a cut line that
         * arrives later fails its checksum and gets its own error */
        line_len = line_err = 0;
        reply_err(-1, E_OVERRUN);
        send(&rep);
    }
    while (rx_tail != rx_head) {
        char ch = (char)rx_buf[rx_tail];
        rx_tail = (uint8_t)((rx_tail + 1) & (RX_RING - 1));
        if (ch == '\n' || ch == '\r') {
            uint8_t err = line_err, n = line_len;
            line_len = line_err = 0;
            rep.n = 0xFF; /* 0xFF: nothing to send */
            cache_it = 0;
            if (err == E_OVERLONG) reply_err(-1, E_OVERLONG);
            else if (n) handle_line(n); /* empty lines are ignored: the host sends one to resync */
            if (rep.n != 0xFF) {
                send(&rep);
                if (cache_it) cached = rep;
            }
            continue;
        }
        if (line_err) continue;
        if (line_len >= MAXLINE) { line_err = E_OVERLONG; continue; }
        line[line_len++] = ch;
    }
    if (hal_estop_input() && !estop) {
        do_estop();
        begin(&asy, FSTR("!alarm"), -1); /* unsolicited: no request asked for it */
        put_code(&asy, E_ESTOP);
        put_s(&asy, FSTR(" src=button"));
        send(&asy);
    }
    service_motion();
}

uint8_t fw_idle(void) {
    uint8_t s = crit_enter();
    uint8_t idle = rx_tail == rx_head && !rx_over && !mo_done;
    crit_exit(s);
    return idle;
}
