// Preloaded into an app (`node --require bench/probes/loop-monitor.cjs`) by http-tail.mjs. Between
// the appearance of the files MONITOR_FILE.start and MONITOR_FILE.stop, records the event-loop
// delay (1 ms resolution), timer ticks late by more than 6 ms, and GCs over 2 ms; then writes
// them as JSON to MONITOR_FILE.
const { isMonitoredApp, whenMarker: when } = require('./monitor-files.cjs');

if (isMonitoredApp()) {
  const { monitorEventLoopDelay, PerformanceObserver } = require('node:perf_hooks');
  const gcs = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      if (e.duration > 2)
        gcs.push({
          at: Math.round(e.startTime),
          ms: +e.duration.toFixed(1),
          kind: e.detail?.kind === 1 ? 'minor' : 'major/incremental',
        });
  }).observe({ entryTypes: ['gc'] });
  const fs = require('node:fs');
  when('.start', () => {
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const late = [];
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      if (now - last > 6) late.push({ at: Math.round(last), ms: +(now - last).toFixed(1) });
      last = now;
    }, 1);
    const from = performance.now();
    when('.stop', () => {
      delay.disable();
      clearInterval(ticker);
      const ms = (ns) => +(ns / 1e6).toFixed(2);
      const report = {
        delay: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) },
        lateTicks: late,
        gcs: gcs.filter((g) => g.at >= from),
      };
      fs.writeFileSync(process.env.MONITOR_FILE, JSON.stringify(report));
    });
  });
}
