// perfkit live dashboard: one panel per scenario, fed by server-sent events
// from /events ("scenario", "interval", "alert", "done").
"use strict";
(function () {
  const MAX_POINTS = 3600;
  const scenarios = new Map();
  let intervals = 0;

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k);
    return e;
  }

  function sig3(v) {
    if (!isFinite(v) || v === 0) return String(v);
    const d = Math.floor(Math.log10(Math.abs(v))) + 1;
    return String(Number(v.toFixed(Math.max(0, 3 - d))));
  }
  function fmtDur(ns) {
    if (ns == null) return "-";
    if (ns < 1e3) return Math.round(ns) + "ns";
    if (ns < 1e6) return sig3(ns / 1e3) + "µs";
    if (ns < 1e9) return sig3(ns / 1e6) + "ms";
    return sig3(ns / 1e9) + "s";
  }
  function fmtRate(v) {
    if (v >= 1e6) return sig3(v / 1e6) + "M";
    if (v >= 1e3) return sig3(v / 1e3) + "k";
    return sig3(v);
  }
  function fmtBytes(b) {
    const u = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
    return sig3(b) + u[i];
  }

  // Each chart: its series and how an interval event gives their values.
  const chartDefs = [
    { key: "tput", title: "Throughput (ops/s)", fmt: fmtRate,
      series: [{ label: "ops/s", stroke: "#2563eb" }, { label: "target", stroke: "#f97316", dash: [6, 4] },
        { label: "started/s", stroke: "#f97316" }],
      values: (e) => [e.throughput, e.target_rate || null, e.started_rate || null] },
    { key: "lat", title: "Latency", fmt: (v) => fmtDur(v * 1e6),
      series: [{ label: "p50", stroke: "#16a34a" }, { label: "p90", stroke: "#ca8a04" }, { label: "p99", stroke: "#dc2626" }],
      values: (e) => e.ops > 0 ? [e.p50_ns / 1e6, e.p90_ns / 1e6, e.p99_ns / 1e6] : [null, null, null] },
    { key: "err", title: "Errors (per second)", fmt: fmtRate,
      series: [{ label: "errors/s", stroke: "#b91c1c" }],
      values: (e) => [e.length_ms > 0 ? e.errors / (e.length_ms / 1000) : 0] },
    { key: "inflight", title: "Ops in flight (mean)", fmt: sig3,
      series: [{ label: "in flight", stroke: "#7c3aed" }, { label: "target workers", stroke: "#f97316", dash: [6, 4] }],
      values: (e) => [e.in_flight, e.target_workers || null] },
    { key: "res", title: "perfkit CPU (% of GOMAXPROCS) and memory (RSS)", fmt: (v) => sig3(v) + "%",
      series: [{ label: "CPU %", stroke: "#0891b2" }, { label: "RSS", stroke: "#64748b", scale: "bytes", fmt: fmtBytes }],
      values: (e) => [e.cpu * 100, e.rss_bytes] },
  ];

  function width(box) { return Math.max(320, box.clientWidth || 420); }

  function makeChart(def, box) {
    const series = [{}];
    const axes = [{}, { values: (u, vals) => vals.map(def.fmt), size: 60 }];
    const scales = { x: { time: true } };
    for (const s of def.series) {
      series.push({
        label: s.label, stroke: s.stroke, dash: s.dash, width: 1.5, scale: s.scale || "y", spanGaps: false,
        value: (u, v) => v == null ? "-" : (s.fmt || def.fmt)(v),
      });
      if (s.scale) {
        scales[s.scale] = { auto: true };
        axes.push({ scale: s.scale, side: 1, grid: { show: false }, values: (u, vals) => vals.map(s.fmt), size: 70 });
      }
    }
    const data = [[]];
    for (let i = 0; i < def.series.length; i++) data.push([]);
    const plot = new uPlot({ width: width(box), height: 200, series, axes, scales, legend: { live: true } }, data, box);
    return { def, box, plot, data };
  }

  function scenario(name, meta) {
    let sc = scenarios.get(name);
    if (sc) {
      if (meta) sc.meta.textContent = describe(meta);
      return sc;
    }
    const waiting = document.getElementById("waiting");
    if (waiting) waiting.remove();
    const panel = el("section", { class: "scenario", "data-scenario": name });
    const metaEl = el("div", { class: "meta" }, meta ? describe(meta) : "");
    const stats = el("div", { class: "stats" });
    const grid = el("div", { class: "charts" });
    const errTable = el("table", { class: "errors", hidden: "" });
    panel.append(el("h2", {}, name), metaEl, stats, grid, errTable);
    document.getElementById("scenarios").append(panel);
    const charts = chartDefs.map((def) => {
      const box = el("div", { class: "chart", "data-chart": def.key }, el("h3", {}, def.title));
      grid.append(box);
      return makeChart(def, box);
    });
    sc = { name, meta: metaEl, stats, charts, errTable, errors: {}, counters: {} };
    scenarios.set(name, sc);
    return sc;
  }

  function describe(m) {
    const parts = [m.workload, m.model + " model", "concurrency " + m.concurrency];
    if (m.rate > 0) parts.push((m.stages ? "from " : "rate ") + fmtRate(m.rate) + "/s");
    if (m.stages) parts.push("stages " + m.stages);
    if (m.iterations > 0) parts.push(m.iterations + " ops per run");
    else parts.push(sig3(m.duration_ms / 1000) + "s per run");
    if (m.count > 1) parts.push(m.count + " runs");
    if (m.labels && m.labels.length > 1) parts.push("labels: " + m.labels.join(", "));
    return parts.join(" · ");
  }

  function onInterval(e) {
    intervals++;
    document.body.dataset.intervals = String(intervals);
    const sc = scenario(e.scenario);
    const x = e.at_ms / 1000;
    for (const c of sc.charts) {
      c.data[0].push(x);
      c.def.values(e).forEach((v, i) => c.data[i + 1].push(v));
      if (c.data[0].length > MAX_POINTS) c.data.forEach((a) => a.shift());
      c.plot.setData(c.data);
    }
    for (const [k, n] of Object.entries(e.errors_by_kind || {})) sc.errors[k] = (sc.errors[k] || 0) + n;
    const stat = (label, value) => el("span", {}, label + " ", el("b", {}, value));
    sc.stats.replaceChildren(
      stat("run", String(e.run + 1)),
      stat("elapsed", sig3(e.elapsed_ms / 1000) + "s"),
      stat("ops", String(e.total_ops)),
      stat("ops/s", fmtRate(e.throughput)),
      stat("p50", e.ops > 0 ? fmtDur(e.p50_ns) : "-"),
      stat("p99", e.ops > 0 ? fmtDur(e.p99_ns) : "-"),
      stat("errors", String(e.total_errors)),
      stat("in flight", sig3(e.in_flight)),
      stat("RSS", fmtBytes(e.rss_bytes)),
    );
    const kinds = Object.keys(sc.errors).sort((a, b) => sc.errors[b] - sc.errors[a]);
    if (kinds.length > 0) {
      sc.errTable.hidden = false;
      sc.errTable.replaceChildren(
        el("tr", {}, el("th", {}, "error kind"), el("th", {}, "count")),
        ...kinds.map((k) => el("tr", {}, el("td", {}, k), el("td", { class: "num" }, String(sc.errors[k])))),
      );
    }
  }

  function fmtUnit(v, unit) {
    switch (unit) {
      case "ns": return fmtDur(v);
      case "ops/s": case "count/s": return fmtRate(v) + "/s";
      case "ratio": return sig3(v * 100) + "%";
      case "bytes": return fmtBytes(v);
    }
    return sig3(v);
  }

  function onAlert(a) {
    const box = document.getElementById("alerts");
    box.hidden = false;
    const when = new Date(a.time).toLocaleTimeString();
    const text = `${when} ${a.state.toUpperCase()} ${a.severity} ${a.rule} — ${a.scenario}: ${a.expr} (${fmtUnit(a.value, a.unit)}, run ${a.run + 1})` +
      (a.message ? " — " + a.message : "") + (a.abort ? " (aborting the run)" : "") +
      (a.reason === "run ended" ? " (run ended)" : "");
    document.getElementById("alert-list").prepend(el("li", { class: a.state + " " + a.severity }, text));
  }

  function setStatus(text, cls) {
    const s = document.getElementById("status");
    s.textContent = text;
    s.className = "status " + (cls || "");
  }

  const es = new EventSource("/events");
  es.onopen = () => setStatus("live", "live");
  es.onerror = () => { if (es.readyState !== EventSource.CLOSED) setStatus("reconnecting…"); };
  es.addEventListener("scenario", (m) => { const d = JSON.parse(m.data); scenario(d.scenario, d); });
  es.addEventListener("interval", (m) => onInterval(JSON.parse(m.data)));
  es.addEventListener("alert", (m) => onAlert(JSON.parse(m.data)));
  es.addEventListener("done", () => { es.close(); setStatus("run finished", "done"); });

  let resizeTimer = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      for (const sc of scenarios.values()) for (const c of sc.charts) c.plot.setSize({ width: width(c.box), height: 200 });
    }, 100);
  });
})();
