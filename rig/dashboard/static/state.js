// The page's copy of /api/state. The server folds the events (rig/dashboard/state.py) and
// pushes changed top-level keys and new list rows (rig/dashboard/push.py); this file only
// merges them, and turns the phase stopwatches into figures at the current clock.

// Which panels draw which keys.
const PANELS = {
  session: ["header"], device: ["header"], plan: ["header", "training"], knobs: ["build"], settings: ["build"],
  route: ["route"], progress: ["progress", "route"], current: ["current", "route"], levels: ["levels"],
  takes: ["takes", "route"], alerts: ["alerts"], alert_counts: ["alerts"], training: ["training", "run"],
  run: ["run"], phase: ["run", "progress", "training"], active: ["route"],
};

export const PHASE_LABELS = { waiting: "waiting", capture: "capture", training: "training", export: "testing/export",
  done: "done", aborted: "aborted" };

// Merges one pushed message into `s` and adds the panels to redraw to `dirty`. A replaced takes list
// (not just appended rows) is flagged so the table is rebuilt rather than extended.
export function merge(s, msg, dirty) {
  for (const [key, value] of Object.entries(msg.set || {})) {
    s[key] = value;
    for (const panel of PANELS[key] || []) dirty.add(panel);
    if (key === "takes") dirty.add("takes-rebuilt");
  }
  for (const [key, rows] of Object.entries(msg.append || {})) {
    s[key].push(...rows);
    for (const panel of PANELS[key] || []) dirty.add(panel);
  }
}

// A stopwatch's figures at `now` (server clock): it keeps running only in state "running".
export function watchAt(w, now) {
  if (!w) return { elapsed: null, eta: null };
  const running = w.state === "running" && w.as_of != null;
  const dt = running ? Math.max(0, now - w.as_of) : 0;
  return {
    elapsed: w.started_t == null ? null : w.active_s + dt,
    eta: w.eta_s == null ? null : Math.max(0, w.eta_s - dt),
  };
}

// The phase shown in the badge and the tab title, with its percent where one makes sense.
export function phaseNow(s, now) {
  const ph = s.phase, name = ph.name;
  const key = name === "aborted" ? ph.aborted_in : name;
  const w = ph[key];
  const t = watchAt(w, now);
  let percent = null;
  if (key === "capture" && s.progress.total) percent = (100 * s.progress.done) / s.progress.total;
  else if (key === "training" && w.budget_s) percent = Math.min(99, (100 * (t.elapsed || 0)) / w.budget_s);
  else if (name === "done") percent = 100;
  const label = name === "aborted" ? `aborted in ${PHASE_LABELS[ph.aborted_in] || ph.aborted_in}` : PHASE_LABELS[name] || name;
  return { name, key, label, watch: w, ...t, percent };
}
