// A preload (`node --import ./bench/skew-clock.mjs`) that moves this process's wall clock by
// BENCH_SKEW_MS milliseconds, as a host whose clock is off would: `Date.now()`, `new Date()` and
// `Date()` read the real time plus the offset; `new Date(x)` and timers are unchanged. The skew
// bench starts peers' replicas with it (they read `Date.now()` themselves; belfry is given a
// skewed `Clock` instead). The real time stays readable for the bench's own stamps.
const offset = Number(process.env.BENCH_SKEW_MS ?? 0);
const RealDate = Date;
const realNow = RealDate.now.bind(RealDate);
const skewedNow = () => realNow() + offset;

/** The un-skewed `Date.now`, for stamping handler starts on the parent's time. */
globalThis[Symbol.for("belfry.bench.realNow")] = realNow;

globalThis.Date = new Proxy(RealDate, {
  construct: (target, args, newTarget) =>
    Reflect.construct(target, args.length === 0 ? [skewedNow()] : args, newTarget),
  apply: () => new RealDate(skewedNow()).toString(),
  get: (target, property, receiver) =>
    property === "now" ? skewedNow : Reflect.get(target, property, receiver),
});
