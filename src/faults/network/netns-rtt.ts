import { runPrivileged } from '../host-command.ts';

/** Connect times in ms; timed-out or refused attempts are counted, not timed. */
export interface ConnectRtts {
  readonly rttsMs: readonly number[];
  readonly failed: number;
}

// TCP connect time is one round trip (SYN → SYN-ACK). Node runs from the host's filesystem but in
// the member's network namespace, since the etcd image has nothing but etcd in it.
const SCRIPT = `const net=require('node:net');const [ip,port,count,gap,timeout]=process.argv.slice(1);
const rtts=[];let failed=0;
const one=()=>new Promise((res)=>{const t0=process.hrtime.bigint();const s=net.connect({host:ip,port:Number(port)});
const done=(ok)=>{clearTimeout(timer);s.destroy();if(ok)rtts.push(Number(process.hrtime.bigint()-t0)/1e6);else failed++;res();};
const timer=setTimeout(()=>done(false),Number(timeout));s.once('connect',()=>done(true));s.once('error',()=>done(false));});
(async()=>{for(let i=0;i<Number(count);i++){await one();await new Promise((r)=>setTimeout(r,Number(gap)));}
console.log(JSON.stringify({rttsMs:rtts,failed}));})();`;

/**
 * Measures TCP connect round trips from inside the network namespace of `fromPid` to `ip:port`
 * (e.g. from one member to another's peer port): the view of the network a peer has.
 */
export async function connectRtts(
  fromPid: number,
  ip: string,
  port: number,
  options: { readonly count?: number; readonly gapMs?: number; readonly timeoutMs?: number } = {},
): Promise<ConnectRtts> {
  const { count = 20, gapMs = 10, timeoutMs = 3_000 } = options;
  const outcome = await runPrivileged('nsenter', [
    '-t',
    String(fromPid),
    '-n',
    process.execPath,
    '-e',
    SCRIPT,
    ip,
    String(port),
    String(count),
    String(gapMs),
    String(timeoutMs),
  ]);
  if (!outcome.ok) throw new Error(`measuring connect RTT failed: ${outcome.stderr}`);
  return JSON.parse(outcome.stdout) as ConnectRtts;
}
