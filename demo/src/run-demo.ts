// One demo run: start the mesh, drive traffic, show it, react to keys and signals, stop everything, summarize.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setMeshFault } from './fault-toggle.ts';
import { startGateway } from './gateway.ts';
import { listenForKeys } from './keys.ts';
import type { ViewState } from './live-view.ts';
import { startLoad } from './load-generator.ts';
import { type Mesh, startMesh } from './mesh.ts';
import { MeshStatsReader } from './mesh-stats.ts';
import type { DemoOptions } from './options.ts';
import { portAllocator } from './ports.ts';
import { ProcessGroup } from './process-group.ts';
import { Recorder } from './recorder.ts';
import { jsonReporter, type Reporter, terminalReporter } from './reporter.ts';
import { buildSummary } from './summary.ts';
import { KILLABLE, SERVICES, type ServiceName } from './topology.ts';
import { TraceCollector } from './trace-collector.ts';

const WINDOW_S = 10;
const MAX_EVENTS = 4;

function hints(mesh: Mesh, interactive: boolean, faultOn: boolean): string[] {
  const killable = mesh.instances.find((i) => i.instance.name === KILLABLE);
  const pid = killable?.app.exited() ? 'stopped' : `pid ${killable?.app.pid}`;
  const ctl = `npx trellisctl --api ${mesh.api}`;
  return [
    interactive
      ? `keys  [k] kill ${KILLABLE} (${pid})  [r] restart it  [f] fault: 20% of web→orders get 503 (${faultOn ? 'ON' : 'off'})  [q] quit`
      : `kill a backend: kill -9 ${killable?.app.pid ?? '?'}   (${KILLABLE}; its sidecar stays up)`,
    `try   ${ctl} apply -f demo/config/canary-50.yaml     (back to 90/10: -f demo/config/mesh.yaml)`,
    `      ${ctl} get routes   ·   ${ctl} proxy-status`,
  ];
}

function averageRates(counts: Record<ServiceName, number>, seconds: number): Record<ServiceName, number> {
  const out = { ...counts };
  for (const s of SERVICES) out[s] = counts[s] / Math.max(seconds, 0.001);
  return out;
}

/** Set when the user sends traces elsewhere (a Jaeger, an OpenTelemetry collector): the sidecars honour these. */
const TRACING_ENV = ['TRELLIS_TRACING_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'];

/** Runs the demo; resolves with the process exit code once every child process has stopped. */
export async function runDemo(opts: DemoOptions): Promise<number> {
  const out: Reporter = opts.json ? jsonReporter() : terminalReporter();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'trellis-demo-'));
  const group = new ProcessGroup();
  let requestStop: (why: string) => void = () => {};
  const stopped = new Promise<string>((resolve) => {
    requestStop = resolve;
  });
  const onSignal = (signal: NodeJS.Signals): void => requestStop(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let restoreKeys = (): void => {};
  const collector = TRACING_ENV.some((name) => process.env[name]) ? undefined : new TraceCollector();
  try {
    const ports = portAllocator(opts.basePort);
    let tracingEndpoint: string | undefined;
    if (collector !== undefined) {
      tracingEndpoint = await collector.listen(await ports.next());
      out.step(`traces: every sidecar exports spans to the demo's OTLP receiver at ${tracingEndpoint}`);
    } else out.step('traces: the sidecars export spans to the OTLP endpoint in your environment');
    const starting = startMesh({
      group,
      ports,
      dataDir,
      step: (m) => out.step(m),
      ...(tracingEndpoint === undefined ? {} : { tracingEndpoint }),
    });
    starting.catch(() => {}); // a stop during start-up ends it; its error is not news then
    const mesh = await Promise.race([starting, stopped.then(() => undefined)]);
    if (mesh === undefined) return 130;
    const edge = await startGateway({
      group,
      ports,
      dataDir,
      api: mesh.api,
      xds: mesh.xds,
      tracingArgs:
        tracingEndpoint === undefined ? [] : ['--tracing-endpoint', tracingEndpoint, '--tracing-batch-delay', '500ms'],
    });
    out.step(
      `edge gateway: curl --cacert ${edge.caFile} ${edge.url}   (answered ${edge.probeStatus}; http://localhost:${edge.httpPort}/ redirects there)`,
    );
    out.ready({
      api: mesh.api,
      xds: mesh.xds,
      pids: Object.fromEntries([
        ['demo', process.pid],
        ['control-plane', mesh.controlPlane.pid],
        ...mesh.instances.flatMap((i) => [
          [i.instance.name, i.app.pid],
          [`${i.instance.name}-sidecar`, i.sidecar.pid],
        ]),
        ['loadgen-sidecar', mesh.loadgen.sidecar.pid],
        ['edge-gateway', edge.child.pid],
      ]),
      admin: Object.fromEntries([
        ...mesh.instances.map((i) => [`${i.instance.name}-sidecar`, i.ports.admin]),
        ['loadgen-sidecar', mesh.loadgen.adminPort],
        ['edge-gateway', edge.adminPort],
      ]),
    });
    out.step(`traffic: ${opts.rps} req/s to http://web:8080/checkout through the load generator's sidecar`);

    const recorder = new Recorder();
    const load = startLoad({ outboundPort: mesh.loadgen.outboundPort, rps: opts.rps, recorder });
    const stats = new MeshStatsReader(mesh);
    const events: string[] = [];
    const interactive = !opts.json && process.stdin.isTTY === true;
    let faultOn = false;
    const note = (message: string): void => {
      const line = `${new Date().toISOString().slice(11, 19)}  ${message}`;
      events.push(line);
      if (events.length > MAX_EVENTS) events.shift();
      out.event(line);
    };
    const viewState = (elapsedS: number, whole: boolean): ViewState => {
      const figures = whole ? recorder.totals(elapsedS) : recorder.rolling(WINDOW_S);
      return {
        api: mesh.api,
        rps: opts.rps,
        elapsedS,
        remainingS: opts.durationMs === undefined ? undefined : Math.max(0, opts.durationMs / 1000 - elapsedS),
        windowS: whole ? Math.round(elapsedS) : WINDOW_S,
        services: figures.services,
        versions: figures.versions,
        // The whole run: average inbound rates, not the last second's.
        mesh: whole ? { ...stats.last, inboundRate: averageRates(stats.last.inbound, elapsedS) } : stats.last,
        traces: collector?.stats(),
        hints: whole ? [] : hints(mesh, interactive, faultOn),
        events,
        color: process.stdout.isTTY === true,
      };
    };
    if (interactive) {
      restoreKeys = listenForKeys({
        kill: () => {
          const pid = mesh.killApp(KILLABLE);
          note(`killed ${KILLABLE} (pid ${pid}, SIGKILL): watch the retries and the ejection`);
        },
        restart: () => {
          mesh.restartApp(KILLABLE).then(
            () => note(`restarted ${KILLABLE}: it returns once its ejection time is over`),
            (err: Error) => note(`restart failed: ${err.message}`),
          );
        },
        fault: () => {
          faultOn = !faultOn;
          setMeshFault(mesh.api, faultOn).then(
            () =>
              note(
                faultOn
                  ? "fault filter on: web's sidecar answers 20% of its calls to orders with 503 itself"
                  : 'fault filter off',
              ),
            (err: Error) => note(`fault toggle failed: ${err.message}`),
          );
        },
        quit: () => requestStop('quit'),
      });
    }
    const started = performance.now();
    const elapsed = (): number => (performance.now() - started) / 1000;
    const ticker = setInterval(() => {
      out.tick(recorder.closeSecond());
      void stats.read().then(() => out.view(viewState(elapsed(), false)));
    }, 1000);
    const timer =
      opts.durationMs === undefined ? undefined : setTimeout(() => requestStop('duration'), opts.durationMs);
    await stopped;
    clearInterval(ticker);
    if (timer !== undefined) clearTimeout(timer);
    restoreKeys();
    restoreKeys = () => {};
    await load.stop();
    const elapsedS = elapsed();
    recorder.closeSecond();
    await stats.read();
    const totals = recorder.totals(elapsedS);
    const summary = buildSummary({
      api: mesh.api,
      elapsedS,
      rps: opts.rps,
      services: totals.services,
      versions: totals.versions,
      mesh: stats.last,
      shed: load.shed,
      timeline: recorder.timeline(),
      traces: collector?.stats(),
      gateway: { url: edge.url, caFile: edge.caFile, probeStatus: edge.probeStatus },
    });
    out.step('stopping every process the demo started');
    await group.close();
    out.done(summary, viewState(elapsedS, true));
    return 0;
  } catch (err) {
    out.error(err instanceof Error ? err.message : String(err));
    return 1;
  } finally {
    restoreKeys();
    await group.close();
    await collector?.close();
    rmSync(dataDir, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
