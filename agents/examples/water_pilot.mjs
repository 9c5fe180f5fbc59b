// A water agent in Node.js for the Proving Ground agent protocol (docs/agent-protocol.md).
//
// Follows its route on the ship's autopilot (commanded heading) at service speed and, when an
// AIS or radar target will pass closer than 1 NM within 15 minutes, alters 40 degrees to
// starboard until the danger is past. No COLREG classification: an example, not a master.
//
//   pground run scenarios/water/head_on.yaml --agent "cmd:node agents/examples/water_pilot.mjs"
import { createInterface } from "node:readline";

const NM = 1852;
let brief = null;
let wp = 0;
const send = (msg) => process.stdout.write(JSON.stringify(msg) + "\n");

function cpa(own, t) {
  // closest point of approach of two straight tracks: [distance (m), time (s)]
  const rx = t.x - own.x, ry = t.y - own.y;
  const vx = t.vx - own.vx, vy = t.vy - own.vy;
  const v2 = vx * vx + vy * vy;
  const tc = v2 > 1e-9 ? -(rx * vx + ry * vy) / v2 : 0;
  return [Math.hypot(rx + vx * tc, ry + vy * tc), tc];
}

function act(obs) {
  const o = obs.own;
  const route = brief.route;
  while (wp < route.length - 1 && Math.hypot(route[wp].x_m - o.x_m, route[wp].y_m - o.y_m) < 3 * brief.length_m) wp++;
  const goal = route.length ? route[wp] : { x_m: o.x_m + Math.sin(o.heading_rad), y_m: o.y_m + Math.cos(o.heading_rad) };
  let heading = Math.atan2(goal.x_m - o.x_m, goal.y_m - o.y_m); // bearing, clockwise from north
  const own = { x: o.x_m, y: o.y_m, vx: o.sog_mps * Math.sin(o.cog_rad), vy: o.sog_mps * Math.cos(o.cog_rad) };
  for (const tg of [obs.ais, obs.radar]) {
    for (let i = 0; i < tg.ids.length; i++) {
      const t = { x: tg.x_m[i], y: tg.y_m[i], vx: tg.sog_mps[i] * Math.sin(tg.cog_rad[i]), vy: tg.sog_mps[i] * Math.cos(tg.cog_rad[i]) };
      const [d, tc] = cpa(own, t);
      if (d < NM && tc > 0 && tc < 900) heading = o.heading_rad + (40 * Math.PI) / 180;
    }
  }
  const speed = goal.speed_mps ?? brief.service_speed_mps;
  return { speed_mps: speed, heading_rad: heading };
}

send({ type: "hello", protocol: 1, name: "water-pilot-node", version: "1.0" });
const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on("line", (line) => {
  const msg = JSON.parse(line);
  if (msg.type === "reset") {
    brief = msg.briefing;
    wp = 0;
    send({ type: "ready" });
  } else if (msg.type === "step") {
    send({ type: "action", seq: msg.seq, action: act(msg.observation) });
  } else if (msg.type === "close") {
    process.exit(0);
  }
});
