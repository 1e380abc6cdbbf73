// The side-by-side of `npm run bench:onsale`: the same hold race against Onsale (Worker → Show
// DO) and against the classic design (bench/onsale/baseline-worker.mjs: Worker → Postgres row
// UPDATE in a transaction), with the same load shape: `connections` admitted fans at a time,
// each wanting `quantity` adjacent seats (same distribution as the flash crowd) in a popular
// section of the same stadium, picking from a seat map that learns other fans' holds
// `lagMs` late (a 409 teaches the lost seats at once), and picking again on 409 up to
// `maxHoldConflicts` times. Same seed, same choices, fresh inventory for every round.
import { createClient, fanTokenSigner, rng, Samples, sleep, weighted } from "./http.mjs";
import { SeatView, sectionPopularity } from "./seat-view.mjs";

export async function runRace(config) {
  const random = rng(config.seed);
  const client = createClient(config.url, { timeoutMs: config.requestTimeoutMs ?? 30_000 });
  const signToken = fanTokenSigner(config.token);
  const view = new SeatView(config.sections, sectionPopularity(config.sections.length));
  const path =
    config.design === "onsale" ? `/v1/shows/${config.showId}/holds` : `/baseline/shows/${config.showId}/holds`;
  const all = new Samples();
  const won = new Samples();
  const statuses = {};
  const errors = {};
  let holds = 0;
  let seats = 0;
  let requests = 0;
  let conflicts = 0;
  let gaveUp = 0;
  let fanCount = 0;
  const heldSeats = [];
  const learnLater = [];

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + config.durationS * 1000;
  let soldOut = false;

  const learner = setInterval(() => {
    const now = performance.now();
    while (learnLater.length && learnLater[0][0] <= now) view.markTaken(learnLater.shift()[1]);
  }, 50);

  async function fan() {
    const id = `${config.fanPrefix}${fanCount++}`;
    const token = signToken(id);
    let quantity = Number(weighted(random, config.quantities));
    for (let attempt = 0; attempt < config.maxHoldConflicts + 1; attempt++) {
      let section = view.chooseSection(random, quantity);
      if (!section) {
        const room = Math.max(0, ...view.sections.map((s) => s.free));
        if (room === 0) {
          soldOut = true;
          return;
        }
        quantity = Math.min(quantity, room);
        section = view.chooseSection(random, quantity);
      }
      const seatIds = view.pickAdjacent(random, section, quantity) ?? [];
      if (!seatIds.length) {
        // No adjacent run of that size: take the section's first free seats the fan can see.
        const free = [];
        for (let off = 0; off < section.taken.length && free.length < quantity; off++) {
          if (!section.taken[off]) free.push(section.seats[Math.floor(off / section.perRow)][off % section.perRow]);
        }
        seatIds.push(...free);
      }
      if (!seatIds.length) continue;
      requests++;
      const response = await client.request("POST", path, {
        token,
        headers: { "idempotency-key": `${id}-${attempt}` },
        json: { seat_ids: seatIds },
      });
      const key = `${response.status}`;
      statuses[key] = (statuses[key] ?? 0) + 1;
      if (response.status > 0) all.add(response.ms);
      if (response.status === 201) {
        holds++;
        seats += seatIds.length;
        won.add(response.ms);
        heldSeats.push(...seatIds);
        learnLater.push([performance.now() + config.lagMs, seatIds]);
        return;
      }
      if (response.status === 409) {
        conflicts++;
        view.markTaken(response.body?.seat_ids?.length ? response.body.seat_ids : seatIds);
        continue;
      }
      const code = `${response.status} ${response.body?.code ?? response.error ?? "?"}`;
      errors[code] = (errors[code] ?? 0) + 1;
      await sleep(200);
      return;
    }
    gaveUp++;
  }

  await Promise.all(
    Array.from({ length: config.connections }, async () => {
      while (performance.now() < deadline && !soldOut) await fan();
    }),
  );
  const elapsedS = (performance.now() - t0) / 1000;
  clearInterval(learner);
  client.close();
  const cpu = process.cpuUsage(cpu0);
  return {
    design: config.design,
    show_id: config.showId,
    connections: config.connections,
    duration_s: elapsedS,
    fans: fanCount,
    requests,
    holds,
    seats,
    conflicts,
    gave_up: gaveUp,
    holds_per_s: holds / elapsedS,
    seats_per_s: seats / elapsedS,
    requests_per_s: requests / elapsedS,
    conflict_share: requests ? conflicts / requests : null,
    statuses,
    errors,
    latency_ms: all.summary(),
    latency_won_ms: won.summary(),
    sold_out: soldOut,
    held_seats: heldSeats,
    cpu_s: (cpu.user + cpu.system) / 1e6,
  };
}
