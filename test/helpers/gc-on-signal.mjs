// Preloaded into a server child process started with --expose-gc (test/helpers/net-fuzz.ts):
// SIGUSR2 runs full garbage collections, so memory can be measured without garbage in it. Twice,
// apart: the first one's finalizers free more for the second.
process.on("SIGUSR2", () => {
  globalThis.gc?.();
  setTimeout(() => globalThis.gc?.(), 200).unref();
});
