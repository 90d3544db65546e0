// Preloaded into an app by http-tail.mjs instead of loop-monitor.cjs (MONITOR_SCRIPT=alloc-monitor.cjs):
// a sampled allocation profile (V8 HeapProfiler, one sample per 4 KiB) between MONITOR_FILE.start
// and .stop, written to ALLOC_PROFILE (default /tmp/tl-alloc.heapprofile; open it in Chrome
// DevTools). MONITOR_LIVE=1 drops objects that died in a minor GC: what is left outlived a
// scavenge (what makes scavenges slow).
//   MONITOR_SCRIPT=alloc-monitor.cjs MONITOR_LIVE=1 RATE=2000 node bench/probes/http-tail.mjs
const { isMonitoredApp, whenMarker: when } = require('./monitor-files.cjs');

if (isMonitoredApp()) {
  const fs = require('node:fs');
  const { Session } = require('node:inspector');
  const session = new Session();
  session.connect();
  const out = process.env.ALLOC_PROFILE ?? '/tmp/tl-alloc.heapprofile';
  when('.start', () => {
    const options = {
      samplingInterval: 4096,
      includeObjectsCollectedByMinorGC: !process.env.MONITOR_LIVE,
      includeObjectsCollectedByMajorGC: true,
    };
    session.post('HeapProfiler.startSampling', options, () =>
      when('.stop', () =>
        session.post('HeapProfiler.stopSampling', (error, result) => {
          if (!error) fs.writeFileSync(out, JSON.stringify(result.profile));
          fs.writeFileSync(
            process.env.MONITOR_FILE,
            JSON.stringify({ allocationProfile: error ? String(error) : out }),
          );
        }),
      ),
    );
  });
}
