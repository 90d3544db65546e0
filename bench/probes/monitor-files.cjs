// Shared by the probes preloaded into an app (loop-monitor.cjs, alloc-monitor.cjs): whether this
// is the monitored app's main thread (PORT = MONITOR_PORT, MONITOR_FILE set), and a poll for the marker
// files MONITOR_FILE.start / .stop that http-tail.mjs writes around its measured window.
const fs = require('node:fs');

// Worker threads inherit `--require`, so the monitor is loaded in the app's worker threads too
// (the usage events' background producer): only the main thread, which serves HTTP, reports.
exports.isMonitoredApp = () =>
  Boolean(process.env.MONITOR_FILE) &&
  process.env.PORT === process.env.MONITOR_PORT &&
  require('node:worker_threads').isMainThread;

exports.whenMarker = (suffix, then) => {
  const poll = setInterval(() => {
    if (fs.existsSync(process.env.MONITOR_FILE + suffix)) {
      clearInterval(poll);
      then();
    }
  }, 50);
  poll.unref();
};
