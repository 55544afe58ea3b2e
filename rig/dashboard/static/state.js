// Folds live events into the state object that /api/state returns. Mirrors
// rig/dashboard/state.py (StateBuilder): keep the two in step.
// `dirty` collects the names of the panels that need redrawing.

const MAX_ALERTS = 200;
const RUN_STATES = { run_started: "running", resumed: "running", paused: "paused", finished: "finished", aborted: "aborted" };

export function qcVerdict(qc) {
  if (typeof qc === "string") return [qc, []];
  if (!qc || typeof qc !== "object") return ["pass", []];
  const reasons = (qc.reasons || []).map(String);
  if (qc.ok === false) return ["fail", reasons];
  return [reasons.length ? "warn" : "pass", reasons];
}

export function prepare(state) {
  // Indexes the snapshot once so each event is O(1).
  state._rows = new Map(state.takes.map((r) => [r.take_id, r]));
  state._done = new Set(state.takes.filter((r) => r.split !== "reference" && r.setting_id != null).map((r) => r.setting_id));
  return state;
}

const handlers = {
  run_started(s, e, dirty) {
    const p = s.progress;
    Object.assign(p, { started_t: e.t, base_done: p.done, total: e.total || p.total, last_take_t: null });
    if (e.route && e.route.length) { s.route = e.route; dirty.add("route"); }
    if (e.plan_name) { s.plan.name = e.plan_name; dirty.add("header"); }
    s.run.reason = null;
    dirty.add("progress");
  },
  robot(s, e, dirty) {
    s.current.robot = e.state;
    if (e.knobs) s.current.knobs = e.knobs;
    dirty.add("current");
  },
  moved(s, e, dirty) {
    Object.assign(s.current, { setting_id: e.setting_id, knobs: e.knobs || {}, t: e.t });
    dirty.add("current").add("route");
  },
  levels(s, e, dirty) {
    const old = s.levels || { clip_t: {}, clip_count: {} };
    const clipT = { ...old.clip_t }, clipCount = { ...old.clip_count };
    for (const [ch, hit] of Object.entries(e.clipped || {})) {
      if (hit) { clipT[ch] = e.t; clipCount[ch] = (clipCount[ch] || 0) + 1; }
    }
    s.levels = { send_dbfs: e.send_dbfs, loopback_dbfs: e.loopback_dbfs, return_dbfs: e.return_dbfs, t: e.t,
                 clipped: e.clipped || {}, clip_t: clipT, clip_count: clipCount };
    dirty.add("levels");
  },
  take_recorded(s, e, dirty) {
    addTake(s, takeRow(s, e), dirty);
  },
  take_failed(s, e, dirty) { s.progress.failed += 1; dirty.add("progress"); },
  progress(s, e, dirty) {
    const p = s.progress;
    Object.assign(p, { done: e.done ?? p.done, total: e.total || p.total, eta_s: e.eta_s, eta_t: e.t });
    dirty.add("progress").add("route");
  },
  finished(s, e, dirty) {
    const p = s.progress;
    Object.assign(p, { done: e.done ?? p.done, total: e.total || p.total, eta_s: 0, eta_t: e.t });
    dirty.add("progress");
  },
  aborted(s, e) { s.run.reason = e.reason ?? null; },
  alert(s, e, dirty) {
    const level = e.level || "info";
    s.alert_counts[level] = (s.alert_counts[level] || 0) + 1;
    s.alerts.push({ t: e.t, level, kind: e.kind, message: e.message });
    if (s.alerts.length > MAX_ALERTS) s.alerts.splice(0, s.alerts.length - MAX_ALERTS);
    dirty.add("alerts");
  },
};

export function applyEvent(s, e, dirty) {
  const type = e.type || "";
  if (type in RUN_STATES) { Object.assign(s.run, { state: RUN_STATES[type], t: e.t }); dirty.add("run"); }
  if (handlers[type]) handlers[type](s, e, dirty);
  else if (type.startsWith("train_")) { applyTrain(s.training, e); dirty.add("training").add("run"); }
}

function newModel(name) {
  return { name, params: null, status: "waiting", epoch: [], train: [], val: [], val_esr: [], lr: [],
           takes_used: null, test_esr: null, per_setting: [], exported: [], best_val_loss: null };
}

function applyTrain(training, e) {
  const name = e.model || "model";
  const m = training.models[name] || (training.models[name] = newModel(name));
  training.active = name;
  if (e.type === "train_started") Object.assign(m, { params: e.params ?? null, status: "training" });
  else if (e.type === "train_epoch") {
    m.epoch.push(e.epoch ?? null); m.train.push(e.train_loss ?? null); m.val.push(e.val_loss ?? null);
    m.val_esr.push(e.val_esr ?? null); m.lr.push(e.lr ?? null);
    m.takes_used = e.takes_used ?? m.takes_used;
  } else if (e.type === "train_test") Object.assign(m, { test_esr: e.esr ?? null, per_setting: e.per_setting || [], status: "tested" });
  else if (e.type === "train_exported") Object.assign(m, { exported: e.files || [], status: "exported" });
  else if (e.type === "train_finished") {
    Object.assign(m, { best_val_loss: e.best_val_loss ?? null, status: "finished" });
    if (e.test_esr != null) m.test_esr = e.test_esr;
  }
}

function takeRow(s, r) {
  const [qc, reasons] = qcVerdict(r.qc);
  const latency = r.latency_samples;
  const snr = r.snr_db ?? (r.qc && typeof r.qc === "object" ? r.qc.snr_db : null);
  return {
    take_id: r.take_id, setting_id: r.setting_id, index: r.index, split: r.split, knobs: r.knobs || {},
    latency_ms: latency == null ? null : Math.round((latency * 1e6) / s.plan.sample_rate) / 1000,
    snr_db: snr ?? null, retries: r.retries ?? 0, qc, qc_reasons: reasons, t: r.t,
    // The capture appends the manifest line before emitting take_recorded, so the files exist.
    audio: true,
  };
}

function addTake(s, row, dirty) {
  const old = s._rows.get(row.take_id);
  if (old) { for (const [k, v] of Object.entries(row)) if (v != null) old[k] = v; dirty.add("takes"); return; }
  s._rows.set(row.take_id, row);
  s.takes.push(row);
  const p = s.progress;
  p.last_take_t = row.t || p.last_take_t;
  if (row.split !== "reference" && row.setting_id != null) {
    s._done.add(row.setting_id);
    p.done = Math.max(p.done, s._done.size);
  }
  dirty.add("takes").add("progress").add("route");
}

// Elapsed, rate and ETA at `now` (server clock, seconds).
export function timing(s, now) {
  const p = s.progress;
  const ended = ["finished", "aborted"].includes(s.run.state) && s.run.t ? s.run.t : now;
  const elapsed = p.started_t ? ended - p.started_t : null;
  const took = (p.last_take_t || 0) - (p.started_t || 0);
  const rate = p.started_t && took > 0 ? ((p.done - p.base_done) * 3600) / took : null;
  let eta = null;
  const clock = s.run.state === "paused" && s.run.t ? s.run.t : now; // the ETA stands still while paused
  if (p.eta_s != null && p.eta_t != null) eta = Math.max(0, p.eta_s - (clock - p.eta_t));
  else if (rate) eta = ((p.total - p.done) * 3600) / rate;
  return { elapsed, rate, eta };
}
