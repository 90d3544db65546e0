// Shared by the probes preloaded into an app (loop-monitor.cjs, alloc-monitor.cjs): whether this
// process is the monitored app (PORT = MONITOR_PORT, MONITOR_FILE set), and a poll for the marker
// files MONITOR_FILE.start / .stop that http-tail.mjs writes around its measured window.
const fs = require('node:fs');

exports.isMonitoredApp = () => Boolean(process.env.MONITOR_FILE) && process.env.PORT === process.env.MONITOR_PORT;

exports.whenMarker = (suffix, then) => {
  const poll = setInterval(() => {
    if (fs.existsSync(process.env.MONITOR_FILE + suffix)) {
      clearInterval(poll);
      then();
    }
  }, 50);
  poll.unref();
};
